-- Views fraud teams query. They read the tables with FINAL, so a re-delivered record never counts
-- twice. (Materialised views would aggregate each insert as it comes, re-deliveries included: the
-- sink's at-least-once inserts would double-count there. Plain views over FINAL stay exact; at
-- larger scale, pre-aggregate with AggregatingMergeTree keyed on the record id instead.)

-- Alerts as they stand: one row per alertId.
CREATE VIEW IF NOT EXISTS ${database}.alerts_current AS
SELECT * EXCEPT (ingestedAt) FROM ${database}.alerts FINAL;

-- Every alert with its evidence, one row per evidence authorisation, with what happened there.
CREATE VIEW IF NOT EXISTS ${database}.alert_evidence AS
SELECT
    a.alertId, a.detector, a.severity, a.score, a.subjectType, a.subjectId, a.reasonCodes, a.explanation, a.detectedAt,
    evidenceEventId AS eventId,
    e.eventTime, e.cardToken, e.bin, e.last4, e.amountMinor, e.currency, e.merchantId, e.terminalId, e.mcc, e.entryMode, e.responseCode
FROM (SELECT * FROM ${database}.alerts FINAL) AS a
ARRAY JOIN a.evidenceEventIds AS evidenceEventId
LEFT JOIN (SELECT * FROM ${database}.auth_events FINAL) AS e ON e.eventId = evidenceEventId;

-- Per terminal and day: traffic, declines and the tampering signals.
CREATE VIEW IF NOT EXISTS ${database}.terminal_daily AS
SELECT
    terminalId,
    toDate(eventTime) AS day,
    any(merchantId) AS merchantId,
    count() AS authorisations,
    uniqExact(cardToken) AS distinctCards,
    sum(amountMinor) AS amountSumMinor,
    countIf(responseCode != '00') AS declines,
    countIf(chipCardReadWithoutChip) AS chipCardsReadWithoutChip,
    countIf(firmwareMismatch) AS firmwareMismatches,
    countIf(unknownTerminal) AS fromUnknownTerminal,
    countIf(cardNotPresentAtCardPresentTerminal) AS cardNotPresentEntries
FROM ${database}.enriched_auths FINAL
GROUP BY terminalId, day;

-- Per merchant and day: the laundering and cash-out ratios.
CREATE VIEW IF NOT EXISTS ${database}.merchant_daily AS
SELECT
    merchantId,
    toDate(eventTime) AS day,
    count() AS authorisations,
    countIf(transactionType = 'PURCHASE' AND responseCode = '00') AS purchases,
    countIf(transactionType = 'REFUND') AS refunds,
    uniqExact(cardToken) AS distinctCards,
    sum(amountMinor) AS amountSumMinor,
    quantileExact(0.5)(amountMinor) AS medianTicketMinor,
    countIf(amountMinor >= 10000 AND amountMinor % 10000 = 0) AS roundAmounts,
    countIf(outsideOpeningHours) AS outsideOpeningHours,
    countIf(mccMismatch) AS mccMismatches,
    countIf(cardNotPresentAtCardPresentTerminal) AS cardNotPresentEntries
FROM ${database}.enriched_auths FINAL
GROUP BY merchantId, day;

-- Outcomes with the transactions they dispute.
CREATE VIEW IF NOT EXISTS ${database}.disputed_transactions AS
SELECT o.outcomeId, o.kind, o.fraudRelated, o.reportedAt, disputedEventId AS eventId,
       e.eventTime, e.cardToken, e.amountMinor, e.merchantId, e.terminalId, e.entryMode
FROM (SELECT * FROM ${database}.card_outcomes FINAL) AS o
ARRAY JOIN o.disputedEventIds AS disputedEventId
LEFT JOIN (SELECT * FROM ${database}.auth_events FINAL) AS e ON e.eventId = disputedEventId;
