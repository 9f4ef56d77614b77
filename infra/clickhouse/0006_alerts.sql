-- fraud.alerts.v1: one row per verdict; alertId is deterministic, so a re-emitted alert collapses.
CREATE TABLE IF NOT EXISTS ${database}.alerts
(
    alertId          String,
    detector         LowCardinality(String),
    detectorVersion  LowCardinality(String),
    severity         LowCardinality(String),
    score            Float64,
    subjectType      LowCardinality(String),
    subjectId        String,
    windowStart      DateTime64(3, 'UTC'),
    windowEnd        DateTime64(3, 'UTC'),
    evidenceEventIds Array(String),
    reasonCodes      Array(LowCardinality(String)),
    explanation      String,
    measurements     Map(String, Float64),
    detectedAt       DateTime64(3, 'UTC'),
    emittedAt        DateTime64(3, 'UTC'),
    ingestedAt       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(detectedAt)
ORDER BY alertId;
