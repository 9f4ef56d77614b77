-- terminal.profiles.v1 (compacted topic): the latest registry entry per terminal wins, by updatedAt.
CREATE TABLE IF NOT EXISTS ${database}.terminals
(
    terminalId            String,
    merchantId            String,
    kind                  LowCardinality(String),
    capabilityChip        Bool,
    capabilityContactless Bool,
    capabilityPinPad      Bool,
    latitude              Float64,
    longitude             Float64,
    firmwareVersion       LowCardinality(String),
    firmwareHash          String,
    status                LowCardinality(String),
    registeredAt          DateTime64(3, 'UTC'),
    updatedAt             DateTime64(3, 'UTC'),
    ingestedAt            DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updatedAt)
ORDER BY terminalId;
