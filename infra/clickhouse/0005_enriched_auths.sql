-- auth.enriched.v1: the context and features of each authorisation, one row per eventId.
-- The authorisation's own fields live in auth_events (join on eventId); the key fields analysts
-- filter on are repeated here so most questions need no join.
CREATE TABLE IF NOT EXISTS ${database}.enriched_auths
(
    eventId                             String,
    eventTime                           DateTime64(3, 'UTC'),
    cardToken                           String,
    merchantId                          String,
    terminalId                          String,
    amountMinor                         Int64,
    currency                            LowCardinality(String),
    transactionType                     LowCardinality(String),
    entryMode                           LowCardinality(String),
    responseCode                        LowCardinality(String),
    mcc                                 LowCardinality(String),
    merchantRegisteredMcc               Nullable(String),
    merchantCountry                     Nullable(String),
    merchantCity                        Nullable(String),
    merchantRiskTier                    Nullable(String),
    terminalKind                        Nullable(String),
    terminalStatus                      Nullable(String),
    unknownMerchant                     Bool,
    unknownTerminal                     Bool,
    terminalOfOtherMerchant             Bool,
    mccMismatch                         Bool,
    chipCardReadWithoutChip             Bool,
    firmwareMismatch                    Bool,
    distanceFromTerminalKm              Nullable(Float64),
    localMinuteOfDay                    Nullable(Int32),
    outsideOpeningHours                 Bool,
    cardNotPresentAtCardPresentTerminal Bool,
    terminalInactive                    Bool,
    ingestedAt                          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(eventTime)
ORDER BY eventId;
