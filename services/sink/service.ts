/**
 * The sink: every topic into its ClickHouse table. Rows are buffered and inserted in
 * batches bounded by count (SINK_BATCH_RECORDS) and age (SINK_FLUSH_MS); consumer offsets are
 * committed only after ClickHouse accepted the batch, so a crash between insert and commit
 * re-delivers rows that the tables' ReplacingMergeTree engines collapse on their ids: no loss, and
 * no double counting in the views and FINAL queries. A batch ClickHouse refuses stays buffered with
 * its offsets and is inserted again, with backoff, while consumption waits: nothing is skipped.
 */
import type { ClickHouseClient } from '../core/clickhouse/client.ts';
import type { Serdes } from '../core/codec/serde.ts';
import { topics } from '../core/codec/topics.ts';
import type { Logger } from '../core/observability/logging.ts';
import { backoffs, retrying } from '../core/retry.ts';
import type { Metrics } from '../core/observability/metrics.ts';
import { refuseClearPans } from '../core/pan.ts';
import { admitRecord } from '../core/record-admission.ts';
import { admitProfile, ProfileOwners, profileIdOf, profileKindOf, type ProfileKind } from '../core/profile-ownership.ts';
import type { MerchantProfile, TerminalProfile } from '../core/records.ts';
import { keptLetter } from '../core/service/dead-letter.ts';
import { decodeBatch } from '../core/service/stage/decode-batch.ts';
import type { DeadLetter } from '../core/records.ts';
import type { Producer, TopicPartitionOffset, Transport } from '../core/transport/port.ts';
import { declared, groupOf, tableOfTopic } from '../topology/topology.ts';
import { rowOf } from './rows.ts';

export interface SinkDeps {
  readonly transport: Transport;
  readonly serdes: Serdes;
  readonly clickhouse: ClickHouseClient;
  readonly database: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly batchRecords: number;
  readonly flushMs: number;
  /** As the enricher's: records produced straight to Kafka meet the same admission before they are stored. */
  readonly eventTimeMaxAheadMs?: number;
  /**
   * Fault injection for crash tests (POSGUARD_FAULT_SINK_CRASH_AFTER_INSERTS): the process kills
   * itself after this many batch inserts, before committing the offsets — the window the sink's
   * idempotence must cover.
   */
  readonly crashAfterInserts?: number;
}

export interface RunningSink {
  readonly ready: () => boolean;
  /** Inserts what is buffered and commits it (graceful shutdown, end of a demo). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function runSink(deps: SinkDeps): Promise<RunningSink> {
  const { transport, serdes, clickhouse, database, logger, metrics } = deps;
  const service = 'sink';
  const consumed = metrics.get('posguard_records_consumed_total');
  const batchSeconds = metrics.get('posguard_batch_duration_seconds');
  const lag = metrics.get('posguard_consumer_lag_records');
  /**
   * The sink's lag is what is not yet stored: the partition's end minus the committed offset (its
   * consumed position runs ahead while ClickHouse refuses inserts, and would hide that).
   */
  const ends = new Map<string, { topic: string; partition: number; end: number; committed: number }>();
  const reportLag = (p: { topic: string; partition: number; end: number; committed: number }) =>
    lag.set({ service, topic: p.topic, partition: String(p.partition) }, Math.max(0, p.end - p.committed));
  const insertFailures = metrics.get('posguard_clickhouse_insert_failures_total');
  const rows = new Map<string, Record<string, unknown>[]>();
  const offsets = new Map<string, TopicPartitionOffset>();
  let buffered = 0;
  let oldest = 0;
  let inserts = 0;
  const deadLetterProducer: Producer = await transport.producer();
  const consumer = await transport.consumer({ groupId: groupOf('sink'), topics: declared('sink').inputs, maxBatchRecords: 5000 });

  /** Whether ClickHouse refused the last insert: the sink is then not ready, whatever it consumes. */
  let refused = false;
  // One flush at a time: the timer and the batch handler both call it.
  let flushing: Promise<void> = Promise.resolve();
  function flush(): Promise<void> {
    // A failed flush must not fail the ones queued after it: each starts from the buffer as it is.
    flushing = flushing.catch(() => undefined).then(async () => {
      if (offsets.size === 0) return;
      const started = performance.now();
      const batch = [...rows.entries()];
      const commit = [...offsets.values()];
      const count = buffered;
      rows.clear();
      offsets.clear();
      buffered = 0;
      for (const [table, values] of batch) {
        if (values.length === 0) continue;
        try {
          await clickhouse.insert({ table: `${database}.${table}`, values, format: 'JSONEachRow' });
        } catch (error) {
          insertFailures.inc({ table });
          refused = true;
          // Put the whole batch back (tables already inserted collapse the repeat); offsets taken
          // by batches consumed meanwhile are newer and stay.
          for (const [t, v] of batch) rows.set(t, [...v, ...(rows.get(t) ?? [])]);
          for (const o of commit) if (!offsets.has(`${o.topic}:${o.partition}`)) offsets.set(`${o.topic}:${o.partition}`, o);
          buffered += count;
          throw error;
        }
      }
      if (deps.crashAfterInserts !== undefined && ++inserts >= deps.crashAfterInserts) {
        logger.warn({ inserts }, 'fault injection: crashing between ClickHouse insert and offset commit');
        process.kill(process.pid, 'SIGKILL');
      }
      refused = false;
      await consumer.commit(commit);
      for (const o of commit) {
        const p = ends.get(`${o.topic}:${o.partition}`);
        if (p === undefined) continue;
        p.committed = o.offset;
        reportLag(p);
      }
      batchSeconds.observe({ service }, (performance.now() - started) / 1000);
    });
    return flushing;
  }

  const timer = setInterval(() => {
    if (buffered > 0 && Date.now() - oldest >= deps.flushMs) {
      flush().catch((error: unknown) => logger.error({ error: (error as Error).message }, 'ClickHouse refused a batch; its rows stay buffered for the next flush'));
    }
  }, Math.max(10, Math.floor(deps.flushMs / 4)));

  /** Flushes until ClickHouse accepts, with backoff; the consumer waits (back-pressure) but stays in its group. */
  async function flushUntilAccepted(heartbeat: () => Promise<void>): Promise<void> {
    await retrying(backoffs.clickhouseInsert, flush, {
      retriable: () => true,
      onRetry: async (attempt, delayMs, error) => {
        logger.error({ attempt, retryInMs: Math.round(delayMs), error: (error as Error).message }, 'ClickHouse refused a batch; its rows stay buffered and consumption waits');
        await heartbeat();
      },
    });
  }

  /**
   * Who registered each merchant and terminal. The tables hold it (a profile changing hands never
   * reaches them), so a restarted sink asks them for the ids of each batch it has not seen.
   */
  const owners = new ProfileOwners();
  const ownersAskedFor = new Set<string>();
  async function learnStoredOwners(kind: ProfileKind, profiles: (MerchantProfile | TerminalProfile)[]): Promise<void> {
    const ids = [...new Set(profiles.map((p) => profileIdOf(kind, p)))].filter((id) => !ownersAskedFor.has(`${kind}:${id}`));
    if (ids.length === 0) return;
    const [table, idColumn] = kind === 'merchant' ? ['merchants', 'merchantId'] : ['terminals', 'terminalId'];
    const result = await clickhouse.query({
      query: `SELECT ${idColumn} AS id, any(acquirerId) AS owner FROM ${database}.${table} WHERE ${idColumn} IN {ids:Array(String)} AND acquirerId IS NOT NULL GROUP BY id`,
      query_params: { ids },
      format: 'JSONEachRow',
    });
    for (const { id, owner } of await result.json<{ id: string; owner: string }>()) owners.remember(kind, id, owner);
    for (const id of ids) ownersAskedFor.add(`${kind}:${id}`);
  }

  const admission = () => (deps.eventTimeMaxAheadMs === undefined ? {} : { now: Date.now(), maxAheadMs: deps.eventTimeMaxAheadMs });
  await consumer.run(async (batch, context) => {
    const serde = serdes.forTopic(batch.topic);
    await serde.prepare(batch.records.map((r) => r.value));
    const profileKind = profileKindOf(batch.topic);
    if (profileKind !== undefined) {
      // Profile topics are low in volume: their values are decoded here once more, to ask for the owners first.
      const readable = batch.records.flatMap((r) => { try { return r.value === null ? [] : [serde.decode(r.value) as MerchantProfile]; } catch { return []; } });
      await learnStoredOwners(profileKind, readable);
    }
    const table = tableOfTopic[batch.topic]!;
    const list = rows.get(table) ?? [];
    rows.set(table, list);
    // A tombstone (compaction) has nothing to store.
    const dead = await decodeBatch({ service, serdes, logger, metrics }, batch, (record) => record.value !== null, (decoded) => {
      let value = decoded;
      // Profiles meet the enricher's rules, owners included; a dead letter is evidence and is kept,
      // masked whoever wrote it; anything else produced to Kafka may hold a clear PAN.
      if (profileKind !== undefined) admitProfile(owners, profileKind, batch.topic, value as MerchantProfile | TerminalProfile);
      else if (batch.topic === topics.deadLetters) value = keptLetter(value as DeadLetter);
      else if (batch.topic === topics.authorisations) admitRecord('authorisation', value, batch.topic, admission());
      else if (batch.topic === topics.cardOutcomes) admitRecord('outcome', value, batch.topic);
      else refuseClearPans(value, batch.topic);
      list.push(rowOf(batch.topic, value));
    });
    // At-least-once like the rows: dead letters are keyed by source offset, so a resent one collapses.
    if (dead.length > 0) await deadLetterProducer.send([{ topic: topics.deadLetters, records: dead }]);
    if (buffered === 0) oldest = Date.now();
    buffered += batch.records.length;
    offsets.set(`${batch.topic}:${batch.partition}`, { topic: batch.topic, partition: batch.partition, offset: batch.nextOffset });
    consumed.inc({ service, topic: batch.topic }, batch.records.length);
    const at = `${batch.topic}:${batch.partition}`;
    const p = ends.get(at) ?? { topic: batch.topic, partition: batch.partition, end: 0, committed: batch.records[0]?.offset ?? 0 };
    p.end = batch.highWatermark;
    ends.set(at, p);
    reportLag(p);
    if (buffered >= deps.batchRecords) await flushUntilAccepted(context.heartbeat);
  });

  return {
    ready: () => consumer.joined() && !refused,
    flush,
    async stop() {
      clearInterval(timer);
      await flush().catch((error: unknown) => logger.error({ error }, 'final sink flush failed'));
      await consumer.disconnect();
      await deadLetterProducer.disconnect();
    },
  };
}
