-- What was rejected in the last hours (wall clock), by service and reason, with an example message.
-- @param hours UInt32 = 24: how many hours back from now
SELECT service, errorCode, count() AS records, any(errorMessage) AS example, max(failedAt) AS lastFailedAt
FROM posguard.dead_letters FINAL
WHERE failedAt >= now64(3) - toIntervalHour({hours:UInt32})
GROUP BY service, errorCode
ORDER BY records DESC;
