-- fraud.alerts.v1 gained thresholdsVersion: the threshold set that raised the alert (null on alerts
-- stored before it).
ALTER TABLE ${database}.alerts
    ADD COLUMN IF NOT EXISTS thresholdsVersion Nullable(String) AFTER acquirerId;
