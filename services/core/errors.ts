/**
 * The one registry of posguard's errors. Every error a service raises on purpose has a stable code
 * (`POSGUARD_ERR_<AREA>_<WHAT>`), an HTTP status for the ingest API, and a `retriable` flag that
 * decides between retrying with backoff and dead-lettering. docs/ERRORS.md lists every code; a test
 * keeps the two in step.
 */
export const errorCatalog = {
  POSGUARD_ERR_CONFIG_INVALID: { status: 500, retriable: false, title: 'invalid configuration' },
  POSGUARD_ERR_CODEC_UNKNOWN_TOPIC: { status: 500, retriable: false, title: 'no schema is bound to this topic' },
  POSGUARD_ERR_CODEC_NOT_AVRO_FRAMED: { status: 400, retriable: false, title: 'record is not in the Confluent wire format' },
  POSGUARD_ERR_CODEC_UNKNOWN_SCHEMA_ID: { status: 400, retriable: false, title: 'record names a schema id the registry does not know' },
  POSGUARD_ERR_CODEC_INCOMPATIBLE_SCHEMA: { status: 400, retriable: false, title: 'writer schema cannot be read with the reader schema' },
  POSGUARD_ERR_CODEC_INVALID_RECORD: { status: 400, retriable: false, title: 'record does not match its Avro schema' },
  POSGUARD_ERR_REGISTRY_UNAVAILABLE: { status: 503, retriable: true, title: 'schema registry did not answer' },
  POSGUARD_ERR_REGISTRY_INCOMPATIBLE: { status: 409, retriable: false, title: 'schema registry rejected an incompatible schema' },
  POSGUARD_ERR_TRANSPORT_CLOSED: { status: 503, retriable: false, title: 'transport is closed' },
  POSGUARD_ERR_TRANSPORT_TRANSACTION_STATE: { status: 500, retriable: false, title: 'transaction used after commit or abort' },
  POSGUARD_ERR_TRANSPORT_RECORD_TOO_LARGE: { status: 413, retriable: false, title: 'a record is larger than its topic accepts (max.message.bytes)' },
  POSGUARD_ERR_TRANSPORT_UNKNOWN_TOPIC: { status: 500, retriable: false, title: 'topic does not exist' },
  POSGUARD_ERR_STAGE_STOPPING: { status: 503, retriable: true, title: 'the service is stopping: a rebuild of stage state was abandoned' },
  POSGUARD_ERR_CLICKHOUSE_MIGRATION_CHANGED: { status: 500, retriable: false, title: 'an applied migration file was edited' },
  POSGUARD_ERR_CLICKHOUSE_MIGRATION_FAILED: { status: 500, retriable: false, title: 'a migration statement failed' },
  POSGUARD_ERR_CLICKHOUSE_QUERY_FAILED: { status: 400, retriable: false, title: 'ClickHouse refused the query (syntax, unknown table, or a write on the read-only endpoint)' },
  POSGUARD_ERR_CLICKHOUSE_ENGINE_BUSY: { status: 503, retriable: true, title: 'another process holds the embedded ClickHouse data directory' },
  POSGUARD_ERR_INPUT_REJECTED: { status: 400, retriable: false, title: 'too many lines of a recorded stream were rejected' },
  POSGUARD_ERR_REQUEST_FAILED: { status: 500, retriable: true, title: 'a request failed on the service\'s side (a bug); the service logged it' },
  POSGUARD_ERR_PROCESSING_FAILED: { status: 500, retriable: false, title: 'a valid record could not be processed (a bug: the record is kept in the dead-letter topic)' },
  POSGUARD_ERR_INGEST_UNAUTHORISED: { status: 401, retriable: false, title: 'missing or unknown acquirer API key' },
  POSGUARD_ERR_AUTH_THROTTLED: { status: 429, retriable: true, title: 'too many wrong API keys from one client address; every request from it waits out the window' },
  POSGUARD_ERR_SQL_UNAUTHORISED: { status: 401, retriable: false, title: 'missing or unknown key for the SQL port' },
  POSGUARD_ERR_SQL_NOT_ALLOWED: { status: 400, retriable: false, title: 'an analyst query reaches beyond what the SQL port allows (a statement other than SELECT, a function or table outside the allow-list, INTO OUTFILE, SETTINGS)' },
  POSGUARD_ERR_SAVED_QUERY_UNKNOWN: { status: 404, retriable: false, title: 'no saved query of that name in infra/clickhouse/queries' },
  POSGUARD_ERR_SAVED_QUERY_PARAMETER: { status: 400, retriable: false, title: 'a saved query\'s parameter is missing, not one it takes, or not name=value (each is named)' },
  POSGUARD_ERR_SAVED_QUERY_INVALID: { status: 500, retriable: false, title: 'a saved query file uses a parameter it does not declare, or declares one it does not use' },
  POSGUARD_ERR_ALERT_NOT_FOUND: { status: 404, retriable: false, title: 'no alert with that id among the calling acquirer\'s alerts (another acquirer\'s alert is not found either)' },
  POSGUARD_ERR_ALERT_CLOSED: { status: 409, retriable: false, title: 'the alert was confirmed or dismissed already; a closed alert takes no further action' },
  POSGUARD_ERR_ALERT_ACTION_CONFLICT: { status: 409, retriable: false, title: 'the actionId was already used for a different action on the alert' },
  POSGUARD_ERR_ALERT_ACTION_INVALID: { status: 400, retriable: false, title: 'an alert action is not valid: an assignment without assignee, a dismissal without reason, a clear card number (each field is named)' },
  POSGUARD_ERR_ALERT_ACTIONS_UNAVAILABLE: { status: 503, retriable: true, title: 'the service cannot take alert actions yet (connecting to Kafka, the registry or ClickHouse)' },
  POSGUARD_ERR_RECORD_CLEAR_PAN: { status: 400, retriable: false, title: 'a record produced to Kafka holds a clear card number; its dead letter keeps it masked' },
  POSGUARD_ERR_RECORD_INVALID_VALUE: { status: 400, retriable: false, title: 'a record fits its schema but a value makes no sense (the field is named)' },
  POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER: { status: 403, retriable: false, title: 'a profile changes a merchant or terminal, or places a terminal under a merchant, that another acquirer registered' },
  POSGUARD_ERR_INGEST_WRONG_ACQUIRER: { status: 403, retriable: false, title: 'a record names an acquirer other than the one the API key belongs to' },
  POSGUARD_ERR_INGEST_INVALID: { status: 400, retriable: false, title: 'the request body is not valid' },
  POSGUARD_ERR_INGEST_CLEAR_PAN: { status: 400, retriable: false, title: 'a clear card number was sent where a token belongs' },
  POSGUARD_ERR_INGEST_BATCH_TOO_LARGE: { status: 413, retriable: false, title: 'a request holds more records than the acquirer may send in a second' },
  POSGUARD_ERR_INGEST_RECORD_TOO_LARGE: { status: 413, retriable: false, title: 'a record is larger than the log accepts; retrying cannot succeed' },
  POSGUARD_ERR_INGEST_RATE_LIMITED: { status: 429, retriable: true, title: 'the acquirer sent more requests than its rate allows' },
  POSGUARD_ERR_INGEST_UNAVAILABLE: { status: 503, retriable: true, title: 'ingest is starting, or the broker or registry does not answer; the answer says which' },
  POSGUARD_ERR_INGEST_OVERLOADED: { status: 503, retriable: true, title: 'too many records in flight to the log; retry later' },
} as const satisfies Record<string, { status: number; retriable: boolean; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export class PosguardError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retriable: boolean;
  /** Machine-readable facts about the failure (the variable, the field, the topic …). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PosguardError';
    this.code = code;
    this.statusCode = errorCatalog[code].status;
    this.retriable = errorCatalog[code].retriable;
    this.details = Object.freeze({ ...details });
  }
}

export function isPosguardError(error: unknown, code?: ErrorCode): error is PosguardError {
  return error instanceof PosguardError && (code === undefined || error.code === code);
}
