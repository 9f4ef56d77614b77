-- What was rejected, by service and reason, with an example message.
SELECT service, errorCode, count() AS records, any(errorMessage) AS example
FROM posguard.dead_letters FINAL
GROUP BY service, errorCode
ORDER BY records DESC;
