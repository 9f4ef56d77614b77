-- One alert's explanation and its evidence transactions.
-- @param alert String: the alert id (alertId)
SELECT alertId, detector, severity, subjectType, subjectId, explanation, eventId, eventTime, cardToken, amountMinor, currency,
       merchantId, terminalId, entryMode, responseCode
FROM posguard.alert_evidence
WHERE alertId = {alert:String}
ORDER BY eventTime, eventId;
