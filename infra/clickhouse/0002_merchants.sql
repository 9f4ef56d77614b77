-- merchant.profiles.v1 (compacted topic): the latest profile per merchant wins, by updatedAt.
CREATE TABLE IF NOT EXISTS ${database}.merchants
(
    merchantId                 String,
    acquirerId                 LowCardinality(String),
    name                       String,
    mcc                        LowCardinality(String),
    country                    LowCardinality(String),
    city                       LowCardinality(String),
    latitude                   Float64,
    longitude                  Float64,
    utcOffsetMinutes           Int32,
    opensAtMinute              Nullable(Int32),
    closesAtMinute             Nullable(Int32),
    onboardedAt                DateTime64(3, 'UTC'),
    riskTier                   LowCardinality(String),
    expectedAverageTicketMinor Nullable(Int64),
    updatedAt                  DateTime64(3, 'UTC'),
    ingestedAt                 DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updatedAt)
ORDER BY merchantId;
