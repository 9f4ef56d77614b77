-- HTTP rejections have no source offset: keyed by their failure millisecond alone (0007), one
-- request's many rejections collapsed into a few rows. Each now carries its own id, which ends
-- the sorting key (ReplacingMergeTree deduplicates on it); rows from before it hold ''.
ALTER TABLE ${database}.dead_letters
    ADD COLUMN IF NOT EXISTS letterId String AFTER failedAt,
    MODIFY ORDER BY (service, ifNull(sourceTopic, ''), ifNull(sourcePartition, -1), ifNull(sourceOffset, -1), if(isNull(sourceOffset), toUnixTimestamp64Milli(failedAt), 0), letterId);
