-- card.outcomes.v1: issuer, network and cardholder feedback; idempotent on outcomeId.
CREATE TABLE IF NOT EXISTS ${database}.card_outcomes
(
    outcomeId        String,
    cardToken        String,
    kind             LowCardinality(String),
    fraudRelated     Bool,
    reportedAt       DateTime64(3, 'UTC'),
    disputedEventIds Array(String),
    note             Nullable(String),
    ingestedAt       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(reportedAt)
ORDER BY outcomeId;
