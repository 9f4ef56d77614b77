/**
 * Configuration comes from environment variables only, is parsed once at start-up against the
 * table below, and fails fast with an error that names every bad variable. The result is frozen:
 * nothing reads process.env after this.
 */
import { PosguardError } from '../errors.ts';
import { keyDigest, type KeyDigest } from '../http/api-keys.ts';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface PosguardConfig {
  /** Kafka bootstrap servers; empty means the embedded in-process log. */
  readonly kafkaBrokers: readonly string[];
  readonly kafkaClientId: string;
  /** Confluent-compatible registry base URL; undefined means the in-process registry. */
  readonly schemaRegistryUrl: string | undefined;
  /** ClickHouse server URL; undefined means embedded chDB under `dataDir`. */
  readonly clickhouseUrl: string | undefined;
  readonly clickhouseDatabase: string;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  /** Partitions of every topic posguard creates (the clusters topic always has one). */
  readonly partitions: number;
  /** Distinguishes instances of one service: consumer client ids and transactional ids. */
  readonly instanceId: string;
  /** Acquirer API keys for HTTP ingest: each key's holder is an acquirerId. */
  readonly apiKeys: readonly KeyDigest[];
  /** Keys of the SQL port of the process holding the embedded engine: each key's holder names an analyst or a tool. */
  readonly sqlApiKeys: readonly KeyDigest[];
  /** Limits every analyst query runs under (services/core/clickhouse/analyst-sql.ts). */
  readonly sqlMaxExecutionSeconds: number;
  readonly sqlMaxMemoryBytes: number;
  readonly sqlMaxResultRows: number;
  readonly sqlMaxResultBytes: number;
  readonly sinkBatchRecords: number;
  readonly sinkFlushMs: number;
  /** How long a caught-up input partition stays silent before it stops holding event time back. */
  readonly partitionIdleMs: number;
  /** How often a detector stage snapshots its state to Kafka; 0: never (a rebuild replays all input). */
  readonly snapshotIntervalMs: number;
  /** `retention.ms` of the non-compacted topics posguard creates. */
  readonly topicRetentionMs: number;
  readonly eventTimeMaxAheadMs: number;
  readonly ingestRatePerAcquirer: number;
  /** How long `posguard run` may take to stop after SIGTERM before it exits anyway. */
  readonly shutdownTimeoutMs: number;
  /** Prometheus file_sd directory `posguard run` registers its /metrics endpoint in; undefined: none. */
  readonly prometheusTargetsDir: string | undefined;
  /** Fault injection for crash tests: the sink kills itself after this many inserts, before their commit; undefined: never. */
  readonly faultSinkCrashAfterInserts: number | undefined;
  /** Acquirers' own review and decline score thresholds; the others take the thresholds' defaults. */
  readonly decisionPolicies: Readonly<Record<string, { readonly review: number; readonly decline: number }>>;
  readonly runMode: 'embedded' | 'distributed';
}

type Parser<T> = (raw: string) => T;

interface Variable<K extends keyof PosguardConfig> {
  readonly name: string;
  readonly key: K;
  readonly doc: string;
  /** Shown in docs and used when the variable is unset or empty. */
  readonly defaultValue: string | undefined;
  readonly parse: Parser<PosguardConfig[K]>;
}

function variable<K extends keyof PosguardConfig>(v: Variable<K>): Variable<K> {
  return v;
}

class InvalidValue extends Error {}

const hostPort = /^[A-Za-z0-9.\-_]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

const parseBrokers: Parser<readonly string[]> = (raw) => {
  const brokers = raw.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  for (const broker of brokers) {
    if (!hostPort.test(broker)) throw new InvalidValue(`"${broker}" is not host:port`);
  }
  return Object.freeze(brokers);
};

const parseHttpUrl: Parser<string | undefined> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidValue(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidValue(`"${raw}" must use http or https`);
  }
  return raw.replace(/\/+$/, '');
};

const parseIdentifierLike: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9_.-]+$/.test(raw)) throw new InvalidValue(`"${raw}" may only hold letters, digits, '.', '_' and '-'`);
  return raw;
};

const parseIdentifier: Parser<string> = (raw) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) throw new InvalidValue(`"${raw}" is not a plain identifier`);
  return raw;
};

const parsePort: Parser<number> = (raw) => {
  if (!/^\d+$/.test(raw)) throw new InvalidValue(`"${raw}" is not a whole number`);
  const port = Number(raw);
  if (port < 0 || port > 65535) throw new InvalidValue(`${port} is outside 0–65535`);
  return port;
};

const parseLogLevel: Parser<LogLevel> = (raw) => {
  const level = raw.toLowerCase();
  if (!(logLevels as readonly string[]).includes(level)) {
    throw new InvalidValue(`"${raw}" is not one of ${logLevels.join(', ')}`);
  }
  return level as LogLevel;
};

const parseNonEmpty: Parser<string> = (raw) => raw;

const boundedInteger = (min: number, max: number): Parser<number> => (raw) => {
  if (!/^\d+$/.test(raw)) throw new InvalidValue(`"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new InvalidValue(`${value} is outside ${min}–${max}`);
  return value;
};

/**
 * `holder:sha256:<64 hex digits>` (the digest of the key) or `holder:<key>` (16+ characters),
 * comma-separated. A holder may have several (two during a rotation).
 */
const parseKeyDigests: Parser<readonly KeyDigest[]> = (raw) => {
  const keys: KeyDigest[] = [];
  for (const entry of raw.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const at = entry.indexOf(':');
    const holder = entry.slice(0, at);
    const secret = entry.slice(at + 1);
    const digest = /^sha256:([0-9a-fA-F]{64})$/.exec(secret);
    if (at <= 0 || (digest === null && secret.length < 16)) {
      throw new InvalidValue(`entries must be name:sha256:<64 hex digits> or name:key with a key of 16+ characters (entry ${keys.length + 1})`);
    }
    keys.push({ holder, sha256: digest !== null ? Buffer.from(digest[1]!, 'hex') : keyDigest(secret) });
  }
  return keys;
};

const score = (raw: string, what: string): number => {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) throw new InvalidValue(`${what} "${raw}" is not a score from 0 to 1`);
  return value;
};

/** `acquirerId:review/decline,…`, e.g. `acq-eu-01:0.3/0.9`. */
const parseDecisionPolicies: Parser<PosguardConfig['decisionPolicies']> = (raw) => {
  const policies: Record<string, { review: number; decline: number }> = {};
  for (const entry of raw.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const match = /^([^:\s]+):([^/]*)\/(.*)$/.exec(entry);
    if (match === null) throw new InvalidValue(`entry "${entry}" is not acquirerId:review/decline`);
    const [, acquirerId, review, decline] = match as unknown as [string, string, string, string];
    const policy = { review: score(review, `${acquirerId}'s review`), decline: score(decline, `${acquirerId}'s decline`) };
    if (policy.review > policy.decline) throw new InvalidValue(`${acquirerId}'s review score ${review} is above its decline score ${decline}`);
    if (Object.hasOwn(policies, acquirerId)) throw new InvalidValue(`acquirer ${acquirerId} is named twice`);
    policies[acquirerId] = policy;
  }
  return Object.freeze(policies);
};

/** Every variable posguard reads. docs/CONFIGURATION.md documents each; a test keeps them in step. */
export const configVariables = [
  variable({
    name: 'KAFKA_BROKERS',
    key: 'kafkaBrokers',
    doc: 'Comma-separated Kafka bootstrap servers (host:port). Unset: the embedded in-process log.',
    defaultValue: undefined,
    parse: parseBrokers,
  }),
  variable({
    name: 'KAFKA_CLIENT_ID',
    key: 'kafkaClientId',
    doc: 'Kafka client id prefix, visible in broker logs and quotas.',
    defaultValue: 'posguard',
    parse: parseNonEmpty,
  }),
  variable({
    name: 'SCHEMA_REGISTRY_URL',
    key: 'schemaRegistryUrl',
    doc: 'Confluent-compatible schema registry base URL (for Apicurio: http://host:port/apis/ccompat/v7). Required with KAFKA_BROKERS; unset in embedded mode.',
    defaultValue: undefined,
    parse: parseHttpUrl,
  }),
  variable({
    name: 'CLICKHOUSE_URL',
    key: 'clickhouseUrl',
    doc: 'ClickHouse server HTTP URL, credentials allowed (http://user:pass@host:8123). Unset: embedded chDB under POSGUARD_DATA_DIR/clickhouse.',
    defaultValue: undefined,
    parse: parseHttpUrl,
  }),
  variable({
    name: 'CLICKHOUSE_DATABASE',
    key: 'clickhouseDatabase',
    doc: 'Database holding the posguard tables. The DDL in infra/clickhouse/ names it; change it only together with that DDL.',
    defaultValue: 'posguard',
    parse: parseIdentifier,
  }),
  variable({
    name: 'POSGUARD_DATA_DIR',
    key: 'dataDir',
    doc: 'Directory for local state: the embedded ClickHouse data, the local stack logs and pids.',
    defaultValue: './data',
    parse: parseNonEmpty,
  }),
  variable({
    name: 'PORT',
    key: 'port',
    doc: 'HTTP port of the service (API, /metrics, /healthz, /readyz). 0 picks a free port.',
    defaultValue: '8080',
    parse: parsePort,
  }),
  variable({
    name: 'HOST',
    key: 'host',
    doc: 'Address the HTTP server binds to. Loopback by default; set 0.0.0.0 to expose it.',
    defaultValue: '127.0.0.1',
    parse: parseNonEmpty,
  }),
  variable({
    name: 'POSGUARD_PARTITIONS',
    key: 'partitions',
    doc: 'Partitions of the topics posguard creates at start-up (existing topics keep theirs). The same number in both run modes gives the same routing.',
    defaultValue: '3',
    parse: boundedInteger(1, 1024),
  }),
  variable({
    name: 'POSGUARD_INSTANCE_ID',
    key: 'instanceId',
    doc: 'Names this instance of a service in its Kafka client id, its logs and its Prometheus target; give each running instance its own. (Transactional ids belong to tasks, not instances: `<group>.task-<p>` on every instance, so whoever takes a task over fences its previous owner.)',
    defaultValue: 'instance-1',
    parse: parseIdentifierLike,
  }),
  variable({
    name: 'POSGUARD_API_KEYS',
    key: 'apiKeys',
    doc: 'HTTP ingest credentials, sent as the x-api-key header: comma-separated entries acquirerId:sha256:<hex SHA-256 of the key> (so the configuration need not hold the key: `printf %s "$KEY" | sha256sum`) or acquirerId:key (16+ characters). An acquirer may have two entries while its key is rotated: both are accepted until the old one is removed. The sink takes the same keys for its alert actions API (`/v1/alerts/…`: each acquirer sees and acts on its own alerts). Unset: ingest, and the sink\'s alert actions, reject every request with 401.',
    defaultValue: '',
    parse: parseKeyDigests,
  }),
  variable({
    name: 'POSGUARD_SQL_API_KEYS',
    key: 'sqlApiKeys',
    doc: 'Keys for the read-only SQL port (`POST /v1/sql`, header x-api-key) that a sink or demo holding the embedded ClickHouse serves: comma-separated name:sha256:<hex> or name:key (16+ characters), as for POSGUARD_API_KEYS. `posguard query` on the same machine needs none: it reads a key the process writes, readable by its user only, into the data directory. Unset: only that local key is accepted.',
    defaultValue: '',
    parse: parseKeyDigests,
  }),
  variable({
    name: 'POSGUARD_SQL_MAX_EXECUTION_SECONDS',
    key: 'sqlMaxExecutionSeconds',
    doc: 'An analyst query (the SQL port, `posguard query`) is stopped after this many seconds (ClickHouse max_execution_time), so that one query cannot hold the engine the sink writes with.',
    defaultValue: '30',
    parse: boundedInteger(1, 3600),
  }),
  variable({
    name: 'POSGUARD_SQL_MAX_MEMORY_BYTES',
    key: 'sqlMaxMemoryBytes',
    doc: 'Memory one analyst query may use (ClickHouse max_memory_usage, bytes); the embedded engine shares the sink\'s process.',
    defaultValue: '1073741824',
    parse: boundedInteger(16_777_216, 1_099_511_627_776),
  }),
  variable({
    name: 'POSGUARD_SQL_MAX_RESULT_ROWS',
    key: 'sqlMaxResultRows',
    doc: 'Rows one analyst query may return (ClickHouse max_result_rows; more is an error, not a silent cut).',
    defaultValue: '100000',
    parse: boundedInteger(1, 100_000_000),
  }),
  variable({
    name: 'POSGUARD_SQL_MAX_RESULT_BYTES',
    key: 'sqlMaxResultBytes',
    doc: 'Bytes one analyst query may return (ClickHouse max_result_bytes, uncompressed).',
    defaultValue: '67108864',
    parse: boundedInteger(1024, 68_719_476_736),
  }),
  variable({
    name: 'SINK_BATCH_RECORDS',
    key: 'sinkBatchRecords',
    doc: 'The sink inserts into ClickHouse once this many records are buffered…',
    defaultValue: '20000',
    parse: boundedInteger(1, 1_000_000),
  }),
  variable({
    name: 'SINK_FLUSH_MS',
    key: 'sinkFlushMs',
    doc: '…or once the oldest buffered record has waited this long (milliseconds).',
    defaultValue: '1000',
    parse: boundedInteger(10, 600_000),
  }),
  variable({
    name: 'POSGUARD_PARTITION_IDLE_MS',
    key: 'partitionIdleMs',
    doc: 'A detector input partition that is caught up, while every stage upstream of it is caught up too, stops holding the event-time watermark back after this long without records (milliseconds). Lower cuts alert latency at quiet times; it never changes which alerts are raised.',
    defaultValue: '2000',
    parse: boundedInteger(50, 600_000),
  }),
  variable({
    name: 'POSGUARD_SNAPSHOT_INTERVAL_MS',
    key: 'snapshotIntervalMs',
    doc: 'How often (milliseconds) each detector stage of `posguard run` writes a snapshot of its state to its compacted topic `<group>.snapshots`; a restart or rebalance then reads the newest snapshot and replays only the input after it. 0 turns snapshots off: a rebuild replays the input from its beginning, and depends on its retention.',
    defaultValue: '300000',
    parse: (raw) => (raw === '0' ? 0 : boundedInteger(1000, 86_400_000)(raw)),
  }),
  variable({
    name: 'POSGUARD_TOPIC_RETENTION_MS',
    key: 'topicRetentionMs',
    doc: '`retention.ms` given to the non-compacted topics posguard creates at start-up (existing topics keep theirs). Those topics are created with message.timestamp.type=LogAppendTime, so retention counts from when the broker received a record, not from its event time. It must exceed POSGUARD_SNAPSHOT_INTERVAL_MS plus the longest time a stage may be down, so that the input after the newest snapshot is still there when it restarts. Default: 7 days, Kafka\'s own default.',
    defaultValue: '604800000',
    parse: boundedInteger(60_000, 315_360_000_000),
  }),
  variable({
    name: 'POSGUARD_INGEST_RATE_PER_ACQUIRER',
    key: 'ingestRatePerAcquirer',
    doc: 'Records per second each acquirer may send over HTTP (a token bucket holding one second\'s worth). Above it: 429 with retry-after; a single request with more records than this: 413 naming the limit.',
    defaultValue: '20000',
    parse: boundedInteger(1, 10_000_000),
  }),
  variable({
    name: 'POSGUARD_EVENT_TIME_MAX_AHEAD_MS',
    key: 'eventTimeMaxAheadMs',
    doc: 'How far in the future (milliseconds, by this machine\'s clock) an authorisation\'s eventTime may be when it arrives live, over HTTP or on auth.requests.v1; later ones are refused (HTTP 400, dead-lettered) with the field named, because one bad client clock would move event time forward for every card and make everyone else\'s inputs late. The embedded demo, replay and backtest take the recording\'s times as they are.',
    defaultValue: '300000',
    parse: boundedInteger(0, 86_400_000),
  }),
  variable({
    name: 'POSGUARD_SHUTDOWN_TIMEOUT_MS',
    key: 'shutdownTimeoutMs',
    doc: 'After SIGTERM or SIGINT, `posguard run` stops consuming, finishes or abandons the batch in hand, commits what it can and closes its connections; if that takes longer than this (milliseconds), it logs what was still pending and exits with status 1.',
    defaultValue: '10000',
    parse: boundedInteger(100, 600_000),
  }),
  variable({
    name: 'POSGUARD_PROMETHEUS_TARGETS_DIR',
    key: 'prometheusTargetsDir',
    doc: 'A directory Prometheus watches with file_sd_configs. `posguard run` writes `<service>-<instance>.json` naming its /metrics address there once it listens, and removes it when it stops. `npm run stack:up` prints the stack Prometheus\'s directory. Unset: no registration.',
    defaultValue: undefined,
    parse: parseNonEmpty,
  }),
  variable({
    name: 'POSGUARD_FAULT_SINK_CRASH_AFTER_INSERTS',
    key: 'faultSinkCrashAfterInserts',
    doc: 'Fault injection for crash tests only: the sink kills itself (SIGKILL) after this many ClickHouse inserts, before committing their offsets — the window its idempotence must cover. Unset: never.',
    defaultValue: undefined,
    parse: boundedInteger(1, 1_000_000_000),
  }),
  variable({
    name: 'POSGUARD_DECISION_POLICY',
    key: 'decisionPolicies',
    doc: 'Per-acquirer decision thresholds: comma-separated acquirerId:review/decline scores (0 to 1), e.g. acq-eu-01:0.3/0.9. An authorisation scoring at or above `decline` is declined, at or above `review` sent for review, below approved. Acquirers not named use POSGUARD_THRESHOLD_DECISION_REVIEW_SCORE and POSGUARD_THRESHOLD_DECISION_DECLINE_SCORE.',
    defaultValue: '',
    parse: parseDecisionPolicies,
  }),
  variable({
    name: 'LOG_LEVEL',
    key: 'logLevel',
    doc: `Log level: ${logLevels.join(', ')}.`,
    defaultValue: 'info',
    parse: parseLogLevel,
  }),
] as const;

export interface ConfigProblem {
  readonly variable: string;
  readonly problem: string;
}

/**
 * Parses the environment into a frozen configuration, or throws POSGUARD_ERR_CONFIG_INVALID with
 * one line per bad variable (all of them, not just the first, so one restart fixes them all).
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): PosguardConfig {
  const problems: ConfigProblem[] = [];
  const values: Partial<Record<keyof PosguardConfig, unknown>> = {};

  for (const v of configVariables) {
    const given = env[v.name]?.trim();
    const raw = given === undefined || given === '' ? v.defaultValue : given;
    if (raw === undefined) {
      values[v.key] = v.key === 'kafkaBrokers' ? Object.freeze([]) : undefined;
      continue;
    }
    try {
      values[v.key] = v.parse(raw);
    } catch (error) {
      if (!(error instanceof InvalidValue)) throw error;
      problems.push({ variable: v.name, problem: error.message });
    }
  }

  const brokers = (values.kafkaBrokers ?? []) as readonly string[];
  if (problems.length === 0) {
    // Kafka values are Avro in the Confluent wire format: their schema ids mean nothing without
    // the registry that issued them, so a Kafka deployment without a registry is a mistake.
    if (brokers.length > 0 && values.schemaRegistryUrl === undefined) {
      problems.push({ variable: 'SCHEMA_REGISTRY_URL', problem: 'is required when KAFKA_BROKERS is set' });
    }
  }

  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.variable}: ${p.problem}`).join('\n');
    throw new PosguardError('POSGUARD_ERR_CONFIG_INVALID', `Invalid configuration:\n${lines}`, {
      variables: problems.map((p) => p.variable),
      problems,
    });
  }

  return Object.freeze({
    ...(values as Omit<PosguardConfig, 'runMode'>),
    runMode: brokers.length > 0 ? 'distributed' : 'embedded',
  });
}
