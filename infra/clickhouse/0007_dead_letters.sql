-- posguard.dlq.v1: every rejected record with its reason. A record rejected from a topic is keyed
-- by where it came from, so the same rejection re-delivered (or made again after a restart) is one
-- row; an HTTP rejection has no source offset and is keyed by its time instead.
CREATE TABLE IF NOT EXISTS ${database}.dead_letters
(
    service         LowCardinality(String),
    sourceTopic     Nullable(String),
    sourcePartition Nullable(Int32),
    sourceOffset    Nullable(Int64),
    originalKey     String,
    originalValue   String,
    errorCode       LowCardinality(String),
    errorMessage    String,
    fieldErrors     Array(Tuple(path String, message String)),
    failedAt        DateTime64(3, 'UTC'),
    ingestedAt      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(failedAt)
ORDER BY (service, ifNull(sourceTopic, ''), ifNull(sourcePartition, -1), ifNull(sourceOffset, -1), if(isNull(sourceOffset), toUnixTimestamp64Milli(failedAt), 0));
