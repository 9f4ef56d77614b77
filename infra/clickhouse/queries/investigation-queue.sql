-- The investigation queue of a day: per acquirer, the k cards with the highest decision score that
-- day, with the authorisation and the reasons behind each score.
-- @param day String = : the day (YYYY-MM-DD); empty: the latest day with decisions
-- @param k UInt32 = 100: cards per acquirer
SELECT acquirerId, day, cardToken, round(topScore, 4) AS score, topDecision, topEventId, reasonCodes, reasonExplanations, authorisations
FROM posguard.investigation_queue
WHERE day = if({day:String} = '',  (SELECT max(day) FROM posguard.investigation_queue), toDate({day:String}))
ORDER BY acquirerId, topScore DESC, cardToken
LIMIT {k:UInt32} BY acquirerId;
