-- A card's authorisations over its last days, with the decision and reasons on each.
-- @param card String: the card token
-- @param days UInt32 = 30: how many days before the card's latest authorisation
SELECT a.eventTime, a.eventId, a.acquirerId, a.merchantId, a.terminalId, a.mcc, a.amountMinor, a.currency, a.entryMode, a.responseCode,
       d.decision, round(d.score, 4) AS score, d.reasonCodes
FROM (SELECT * FROM posguard.auth_events FINAL WHERE cardToken = {card:String}) AS a
LEFT JOIN (SELECT acquirerId, eventId, decision, score, reasonCodes FROM posguard.decisions FINAL WHERE cardToken = {card:String}) AS d
  ON d.acquirerId = a.acquirerId AND d.eventId = a.eventId
WHERE a.eventTime >= (SELECT max(eventTime) FROM posguard.auth_events WHERE cardToken = {card:String}) - toIntervalDay({days:UInt32})
ORDER BY a.eventTime, a.eventId;
