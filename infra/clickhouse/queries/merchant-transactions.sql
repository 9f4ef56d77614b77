-- A merchant's transaction log for a date range (event time, UTC days, both included), with the
-- decision on each; `--format CSVWithNames` gives a file for the merchant's review.
-- @param merchant String: the merchant id
-- @param from Date: first day (YYYY-MM-DD)
-- @param to Date: last day (YYYY-MM-DD)
SELECT a.eventTime, a.eventId, a.acquirerId, a.terminalId, a.cardToken, a.bin, a.last4, a.amountMinor, a.currency,
       a.transactionType, a.entryMode, a.responseCode, d.decision, round(d.score, 4) AS score
FROM (SELECT * FROM posguard.auth_events FINAL WHERE merchantId = {merchant:String} AND toDate(eventTime) BETWEEN {from:Date} AND {to:Date}) AS a
LEFT JOIN (SELECT acquirerId, eventId, decision, score FROM posguard.decisions FINAL WHERE merchantId = {merchant:String}) AS d
  ON d.acquirerId = a.acquirerId AND d.eventId = a.eventId
ORDER BY a.eventTime, a.eventId;
