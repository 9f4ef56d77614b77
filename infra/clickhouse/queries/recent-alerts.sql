-- Alerts of the last days of event time, most severe first, with their age and what triggered them.
-- @param days UInt32 = 7: how many days before the latest alert
-- @param detector String = : only this detector's alerts (empty: every detector)
SELECT severity, detector, subjectType, subjectId, acquirerId, detectedAt,
       dateDiff('hour', detectedAt, (SELECT max(detectedAt) FROM posguard.alerts_current)) AS hoursBeforeLatest, explanation
FROM posguard.alerts FINAL
WHERE detectedAt >= (SELECT max(detectedAt) FROM posguard.alerts_current) - toIntervalDay({days:UInt32})
  AND ({detector:String} = '' OR detector = {detector:String})
ORDER BY multiIf(severity = 'CRITICAL', 0, severity = 'HIGH', 1, severity = 'MEDIUM', 2, 3), detectedAt DESC
LIMIT 100;
