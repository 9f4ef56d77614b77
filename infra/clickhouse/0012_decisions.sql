-- fraud.decisions.v1: the decision on every authorisation. (acquirerId, eventId) is its identity,
-- so a re-delivered decision collapses. The reasons are three aligned arrays: code, the log-odds it
-- added, and its explanation.
CREATE TABLE IF NOT EXISTS ${database}.decisions
(
    eventId            String,
    acquirerId         LowCardinality(String),
    cardToken          String,
    terminalId         String,
    merchantId         String,
    eventTime          DateTime64(3, 'UTC'),
    amountMinor        Int64,
    currency           LowCardinality(String),
    score              Float64,
    decision           LowCardinality(String),
    reasonCodes        Array(LowCardinality(String)),
    reasonPoints       Array(Float64),
    reasonExplanations Array(String),
    measurements       Map(String, Float64),
    modelVersion       LowCardinality(String),
    decidedAt          DateTime64(3, 'UTC'),
    ingestedAt         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(eventTime)
ORDER BY (acquirerId, eventId);

-- The investigation queue: per acquirer, day and card, the card's highest score that day with the
-- authorisation and reasons behind it. A fraud team works the top of each day (a saved query).
CREATE VIEW IF NOT EXISTS ${database}.investigation_queue AS
SELECT
    acquirerId,
    toDate(eventTime) AS day,
    cardToken,
    max(score) AS topScore,
    argMax(eventId, score) AS topEventId,
    argMax(decision, score) AS topDecision,
    argMax(reasonCodes, score) AS reasonCodes,
    argMax(reasonExplanations, score) AS reasonExplanations,
    count() AS authorisations,
    countIf(decision != 'APPROVE') AS flagged
FROM ${database}.decisions FINAL
GROUP BY acquirerId, day, cardToken;
