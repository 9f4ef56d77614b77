/**
 * Every Prometheus metric posguard exports is declared once in `metricCatalog`: its name, type,
 * help text and labels. Services get or create them by name from an injected registry, so two
 * components asking for the same metric share it, and docs/METRICS.md (checked by a test) stays
 * the complete list.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

interface MetricSpec {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly buckets?: readonly number[];
}

export const metricCatalog = {
  posguard_records_consumed_total: {
    type: 'counter',
    help: 'Records consumed from a topic, by service and topic.',
    labelNames: ['service', 'topic'],
  },
  posguard_records_produced_total: {
    type: 'counter',
    help: 'Records produced to a topic, by service and topic.',
    labelNames: ['service', 'topic'],
  },
  posguard_dead_letters_total: {
    type: 'counter',
    help: 'Records sent to posguard.dlq.v1, by service, source topic and error code.',
    labelNames: ['service', 'topic', 'code'],
  },
  posguard_batch_duration_seconds: {
    type: 'histogram',
    help: 'Time to process one consumed batch, by service.',
    labelNames: ['service'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  },
  posguard_consumer_lag_records: {
    type: 'gauge',
    help: 'High watermark minus the next offset to process, per topic partition, at the last batch; for the sink, minus the last committed offset (what is not yet stored in ClickHouse).',
    labelNames: ['service', 'topic', 'partition'],
  },
  posguard_late_inputs_total: {
    type: 'counter',
    help: 'Detector inputs that arrived after the event-time watermark had passed them, so were processed out of order, by service and consumer group (stage).',
    labelNames: ['service', 'group'],
  },
  posguard_state_rebuild_records: {
    type: 'gauge',
    help: 'Records the last rebuild of a stage state read, by service, group and source: snapshot (records of the state snapshot topic) or input (input records replayed after it).',
    labelNames: ['service', 'group', 'source'],
  },
  posguard_state_snapshot_bytes: {
    type: 'gauge',
    help: 'Size of the last state snapshot a stage wrote, by service and group.',
    labelNames: ['service', 'group'],
  },
  posguard_clickhouse_insert_failures_total: {
    type: 'counter',
    help: 'Batch inserts ClickHouse refused, by table; the rows stay buffered and are inserted again.',
    labelNames: ['table'],
  },
  posguard_transactions_total: {
    type: 'counter',
    help: 'Transactions of a stage\'s tasks, by service, group and outcome: committed, aborted (failed before its commit, tried again) or commit_failed (may have happened; the task is rebuilt).',
    labelNames: ['service', 'group', 'outcome'],
  },
  posguard_transaction_phase_seconds: {
    type: 'histogram',
    help: 'Time a stage\'s transaction spent in each phase, by service, group and phase: begin, send (its outputs), send_offsets, commit.',
    labelNames: ['service', 'group', 'phase'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  },
  posguard_transaction_records: {
    type: 'histogram',
    help: 'Records one committed transaction of a stage wrote (outputs and dead letters), by service and group.',
    labelNames: ['service', 'group'],
    buckets: [0, 1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
  },
  posguard_alerts_total: {
    type: 'counter',
    help: 'Fraud alerts a detector stage raised (committed to fraud.alerts.v1), by detector and severity.',
    labelNames: ['detector', 'severity'],
  },
  posguard_decisions_total: {
    type: 'counter',
    help: 'Decisions the terminal stage made (one per authorisation, emitted to fraud.decisions.v1 with its batch), by decision: APPROVE, REVIEW or DECLINE.',
    labelNames: ['decision'],
  },
  posguard_alert_delay_seconds: {
    type: 'histogram',
    help: 'Wall-clock time at an alert\'s publication minus the event time of the input that raised it (detectedAt), by detector: authorisation to alert, live (a replayed or backlogged stream lands in the top bucket).',
    labelNames: ['detector'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  },
  posguard_decision_delay_seconds: {
    type: 'histogram',
    help: 'Wall-clock time at a decision\'s publication minus its authorisation\'s event time: authorisation to decision, live (a replayed or backlogged stream lands in the top bucket).',
    labelNames: [],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  },
  posguard_watermark_delay_seconds: {
    type: 'gauge',
    help: 'Wall-clock time minus a detector task\'s event-time watermark, at its last commit, by service, group and task: how far behind the present its verdicts are (large for a replayed stream).',
    labelNames: ['service', 'group', 'task'],
  },
  posguard_state_keys: {
    type: 'gauge',
    help: 'Subjects a stateful task holds in its state (cards and their acquirer views, terminals, merchants, cluster candidates and cities), at its last commit, by service, group and task: what its memory and snapshots grow with.',
    labelNames: ['service', 'group', 'task'],
  },
  posguard_http_request_duration_seconds: {
    type: 'histogram',
    help: 'HTTP requests a service answered, by method, route (its pattern, never the URL) and status, with their duration.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  },
  posguard_sink_rows_total: {
    type: 'counter',
    help: 'Rows the sink inserted into ClickHouse (inserts ClickHouse accepted; rows put in again after a refused flush count again), by table.',
    labelNames: ['table'],
  },
  posguard_schema_lookups_total: {
    type: 'counter',
    help: 'Consumed records whose writer schema id a reader looked up, by result: hit (known to the reader already) or miss (fetched from the schema registry). Misses beyond start-up mean new writer schemas, or a registry cache that does not hold.',
    labelNames: ['result'],
  },
  posguard_clickhouse_migrations_applied_total: {
    type: 'counter',
    help: 'ClickHouse migration files applied by this process.',
    labelNames: [],
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof metricCatalog;

type MetricOf<N extends MetricName> = (typeof metricCatalog)[N]['type'] extends 'counter'
  ? Counter<string>
  : (typeof metricCatalog)[N]['type'] extends 'gauge'
    ? Gauge<string>
    : Histogram<string>;

export interface Metrics {
  readonly registry: Registry;
  get<N extends MetricName>(name: N): MetricOf<N>;
}

export function createMetrics(options: { registry?: Registry; defaultMetrics?: boolean } = {}): Metrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  function get<N extends MetricName>(name: N): MetricOf<N> {
    const existing = registry.getSingleMetric(name);
    if (existing !== undefined) return existing as MetricOf<N>;
    const spec: MetricSpec = metricCatalog[name];
    const common = { name, help: spec.help, labelNames: [...spec.labelNames], registers: [registry] };
    switch (spec.type) {
      case 'counter':
        return new Counter(common) as MetricOf<N>;
      case 'gauge':
        return new Gauge(common) as MetricOf<N>;
      case 'histogram':
        return new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] }) as MetricOf<N>;
      default: {
        const unreachable: never = spec.type;
        throw new Error(`unknown metric type ${String(unreachable)}`);
      }
    }
  }

  return { registry, get };
}
