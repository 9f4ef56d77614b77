-- fraud.alert-actions.v1: what analysts did with alerts. (acquirerId, actionId) is an action's
-- identity, so an action sent twice is one row.
CREATE TABLE IF NOT EXISTS ${database}.alert_actions
(
    actionId   String,
    alertId    String,
    acquirerId LowCardinality(String),
    action     LowCardinality(String),
    actor      String,
    keyHolder  LowCardinality(String),
    assignee   Nullable(String),
    reason     Nullable(String),
    outcomeId  Nullable(String),
    actedAt    DateTime64(3, 'UTC'),
    ingestedAt DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(actedAt)
ORDER BY (acquirerId, actionId);

-- Every alert with its lifecycle: OPEN until an analyst acts, then its last action; the history in
-- order (action, who, when, why), and how long it has been in its state.
CREATE VIEW IF NOT EXISTS ${database}.alert_states AS
SELECT
    a.alertId AS alertId, a.detector AS detector, a.severity AS severity, a.score AS score, a.subjectType AS subjectType,
    a.subjectId AS subjectId, a.acquirerId AS alertAcquirerId, a.detectedAt AS detectedAt, a.explanation AS explanation,
    if(h.actions = 0, 'OPEN', h.lastAction) AS state,
    h.lastActedAt AS stateSince,
    h.assignee AS assignee,
    h.history AS history
FROM (SELECT * FROM ${database}.alerts FINAL) AS a
LEFT JOIN (
    SELECT alertId,
           count() AS actions,
           argMax(action, (actedAt, actionId)) AS lastAction,
           max(actedAt) AS lastActedAt,
           argMaxIf(assignee, (actedAt, actionId), action = 'ASSIGNED') AS assignee,
           arraySort(x -> x.3, groupArray((action, actor, actedAt, ifNull(reason, ''), acquirerId))) AS history
    FROM ${database}.alert_actions FINAL
    GROUP BY alertId
) AS h ON h.alertId = a.alertId;
