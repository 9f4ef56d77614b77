-- A record's identity is (acquirer, id): two acquirers may send the same eventId or outcomeId, and
-- neither row may replace the other's. ClickHouse cannot put a column in front of an existing
-- sorting key, so each table is copied into one keyed by acquirer first and swapped in atomically.

-- auth_events: keyed by (acquirerId, eventId).
CREATE TABLE IF NOT EXISTS ${database}.auth_events_by_acquirer AS ${database}.auth_events
ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(eventTime) ORDER BY (acquirerId, eventId);
INSERT INTO ${database}.auth_events_by_acquirer SELECT * FROM ${database}.auth_events;
EXCHANGE TABLES ${database}.auth_events AND ${database}.auth_events_by_acquirer;
DROP TABLE ${database}.auth_events_by_acquirer;

-- enriched_auths gains the acquirer (rows from before it take it from auth_events) and is keyed by it.
ALTER TABLE ${database}.enriched_auths ADD COLUMN IF NOT EXISTS acquirerId LowCardinality(String) DEFAULT '' AFTER eventId;
CREATE TABLE IF NOT EXISTS ${database}.enriched_auths_by_acquirer AS ${database}.enriched_auths
ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(eventTime) ORDER BY (acquirerId, eventId);
INSERT INTO ${database}.enriched_auths_by_acquirer
SELECT e.* REPLACE (a.acquirerId AS acquirerId)
FROM ${database}.enriched_auths AS e
LEFT JOIN (SELECT eventId, any(acquirerId) AS acquirerId FROM ${database}.auth_events GROUP BY eventId) AS a ON a.eventId = e.eventId;
EXCHANGE TABLES ${database}.enriched_auths AND ${database}.enriched_auths_by_acquirer;
DROP TABLE ${database}.enriched_auths_by_acquirer;

-- card_outcomes gains who reported it (null: a network-wide report, or one from before outcomes were owned).
ALTER TABLE ${database}.card_outcomes ADD COLUMN IF NOT EXISTS acquirerId Nullable(String) AFTER note;
CREATE TABLE IF NOT EXISTS ${database}.card_outcomes_by_acquirer AS ${database}.card_outcomes
ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(reportedAt) ORDER BY (ifNull(acquirerId, ''), outcomeId);
INSERT INTO ${database}.card_outcomes_by_acquirer SELECT * FROM ${database}.card_outcomes;
EXCHANGE TABLES ${database}.card_outcomes AND ${database}.card_outcomes_by_acquirer;
DROP TABLE ${database}.card_outcomes_by_acquirer;

-- alerts: a card's alerts are raised per acquirer (their alertId names it); terminal and merchant alerts name none.
ALTER TABLE ${database}.alerts ADD COLUMN IF NOT EXISTS acquirerId Nullable(String) AFTER emittedAt;
