-- Alerts of the last 7 days (event time), most severe first, with what triggered them.
SELECT severity, detector, subjectType, subjectId, detectedAt, explanation
FROM posguard.alerts_current
WHERE detectedAt >= (SELECT max(detectedAt) FROM posguard.alerts_current) - INTERVAL 7 DAY
ORDER BY multiIf(severity = 'CRITICAL', 0, severity = 'HIGH', 1, severity = 'MEDIUM', 2, 3), detectedAt DESC
LIMIT 100;
