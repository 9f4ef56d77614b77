-- auth.requests.v1: every authorisation as the acquirer sent it. Column names are the Avro field
-- names, so a record's JSON form inserts as it is.
-- ReplacingMergeTree on eventId: a re-delivered authorisation collapses into one row
-- (read with FINAL, or through the views, for exact counts before merges happen).
CREATE TABLE IF NOT EXISTS ${database}.auth_events
(
    eventId              String,
    acquirerId           LowCardinality(String),
    eventTime            DateTime64(3, 'UTC'),
    cardToken            String,
    bin                  LowCardinality(String),
    last4                String,
    amountMinor          Int64,
    currency             LowCardinality(String),
    transactionType      LowCardinality(String),
    merchantId           String,
    terminalId           String,
    mcc                  LowCardinality(String),
    entryMode            LowCardinality(String),
    cardPresent          Bool,
    pinVerified          Bool,
    cardChipCapable      Nullable(Bool),
    atc                  Nullable(Int32),
    responseCode         LowCardinality(String),
    terminalFirmwareHash Nullable(String),
    latitude             Nullable(Float64),
    longitude            Nullable(Float64),
    ingestedAt           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(eventTime)
ORDER BY eventId;
