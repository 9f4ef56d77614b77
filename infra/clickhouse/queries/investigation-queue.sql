-- The investigation queue of the last day with decisions: per acquirer, the 100 cards with the
-- highest score that day, with the authorisation and the reasons behind each score.
SELECT acquirerId, day, cardToken, round(topScore, 4) AS score, topDecision, topEventId, reasonCodes, reasonExplanations, authorisations
FROM posguard.investigation_queue
WHERE day = (SELECT max(day) FROM posguard.investigation_queue)
ORDER BY acquirerId, topScore DESC, cardToken
LIMIT 100 BY acquirerId;
