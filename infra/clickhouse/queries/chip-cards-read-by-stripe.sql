-- Cards whose chip was read by magstripe or fallback in the last hours before the latest
-- authorisation: cloned or skimmed cards, and the terminals that read them.
-- @param hours UInt32 = 24: how many hours back from the latest authorisation
SELECT cardToken, count() AS stripeReads, groupUniqArray(terminalId) AS terminals, groupUniqArray(merchantId) AS merchants,
       min(eventTime) AS firstRead, max(eventTime) AS lastRead
FROM posguard.enriched_auths FINAL
WHERE chipCardReadWithoutChip AND eventTime >= (SELECT max(eventTime) FROM posguard.enriched_auths) - toIntervalHour({hours:UInt32})
GROUP BY cardToken
ORDER BY stripeReads DESC, cardToken;
