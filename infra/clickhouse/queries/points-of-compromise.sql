-- Probable skimming points and points of fraud, with the cards and transactions behind each.
SELECT subjectType, subjectId, arrayJoin(reasonCodes) AS reason, explanation,
       count() AS evidence, uniqExact(cardToken) AS cards, min(eventTime) AS firstVisit, max(eventTime) AS lastVisit
FROM posguard.alert_evidence
WHERE detector = 'skimming-cluster'
GROUP BY subjectType, subjectId, reason, explanation
ORDER BY cards DESC;
