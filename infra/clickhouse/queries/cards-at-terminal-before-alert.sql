-- Every card that used a terminal in the days before the terminal's first alert: the cards to
-- block or watch when a point of compromise is named.
-- @param terminal String: the terminal the alert names
-- @param days UInt32 = 60: how many days before the alert
WITH (SELECT min(detectedAt) FROM posguard.alerts_current WHERE subjectType = 'TERMINAL' AND subjectId = {terminal:String}) AS alertedAt
SELECT acquirerId, cardToken, bin, last4, count() AS authorisations, min(eventTime) AS firstUse, max(eventTime) AS lastUse, sum(amountMinor) AS amountMinor
FROM posguard.auth_events FINAL
WHERE terminalId = {terminal:String} AND eventTime >= alertedAt - toIntervalDay({days:UInt32}) AND eventTime < alertedAt
GROUP BY acquirerId, cardToken, bin, last4
ORDER BY firstUse;
