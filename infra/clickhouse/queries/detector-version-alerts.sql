-- What a detector version raised, under each threshold set: its alerts by reason code and
-- severity, with an example, to compare versions before and after a change.
-- @param detector String: the detector
-- @param version String = : its version (empty: every version, side by side)
SELECT detectorVersion, thresholdsVersion, arrayJoin(reasonCodes) AS reason, severity, count() AS alerts, uniqExact(subjectId) AS subjects,
       min(detectedAt) AS first, max(detectedAt) AS last, any(explanation) AS example
FROM posguard.alerts FINAL
WHERE detector = {detector:String} AND ({version:String} = '' OR detectorVersion = {version:String})
GROUP BY detectorVersion, thresholdsVersion, reason, severity
ORDER BY detectorVersion, thresholdsVersion, alerts DESC;
