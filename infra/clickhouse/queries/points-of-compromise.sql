-- Probable skimming points and points of fraud, with the cards and transactions behind each.
-- @param min_cards UInt32 = 1: points with fewer evidence cards are left out
SELECT subjectType, subjectId, arrayJoin(reasonCodes) AS reason, explanation,
       count() AS evidence, uniqExact(cardToken) AS cards, min(eventTime) AS firstVisit, max(eventTime) AS lastVisit
FROM posguard.alert_evidence
WHERE detector = 'skimming-cluster'
GROUP BY subjectType, subjectId, reason, explanation
HAVING cards >= {min_cards:UInt32}
ORDER BY cards DESC;
