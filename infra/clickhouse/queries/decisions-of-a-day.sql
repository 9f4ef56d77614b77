-- The authorisations of a day sent for review or declined, riskiest first, with their reasons.
-- @param day String = : the day (YYYY-MM-DD); empty: the latest day with decisions
-- @param decision String = REVIEW: the least severe decision shown (REVIEW shows REVIEW and DECLINE; DECLINE only DECLINE)
SELECT eventTime, acquirerId, eventId, cardToken, merchantId, terminalId, amountMinor, currency, decision, round(score, 4) AS score,
       reasonCodes, reasonExplanations
FROM posguard.decisions FINAL
WHERE toDate(eventTime) = if({day:String} = '',  (SELECT max(toDate(eventTime)) FROM posguard.decisions), toDate({day:String}))
  AND (decision = 'DECLINE' OR ({decision:String} = 'REVIEW' AND decision = 'REVIEW'))
ORDER BY score DESC, eventId
LIMIT 1000;
