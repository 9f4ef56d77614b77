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
import { decodeBatch, type DecodeDeps } from '../core/service/stage/decode-batch.ts';
import type { DeadLetter } from '../core/records.ts';
import type { ConsumedBatch, OutgoingRecord, Producer, TopicPartitionOffset, Transport } from '../core/transport/port.ts';
import { declared, groupOf, tableOfTopic } from '../topology/topology.ts';
import { RowBuffer } from './row-buffer.ts';
import { rowOf } from './rows.ts';
import { clickHouseStore, type RowStore } from './store.ts';

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
  const { transport, serdes, logger, metrics } = deps;
  const service = 'sink';
  const store = clickHouseStore(deps.clickhouse, deps.database);
  const consumed = metrics.get('posguard_records_consumed_total');
  const lag = sinkLag(metrics, service);
  const deadLetterProducer: Producer = await transport.producer();
  const consumer = await transport.consumer({ groupId: groupOf('sink'), topics: declared('sink').inputs, maxBatchRecords: 5000 });
  let inserts = 0;
  // A series per table from the start, so that a scrape shows them at zero before the first row or refusal.
  const insertFailures = metrics.get('posguard_clickhouse_insert_failures_total');
  const rowsStored = metrics.get('posguard_sink_rows_total');
  for (const table of new Set(Object.values(tableOfTopic))) {
    insertFailures.inc({ table }, 0);
    rowsStored.inc({ table }, 0);
  }
  const buffer = new RowBuffer(store, (offsets) => consumer.commit(offsets), {
    refused: (table) => insertFailures.inc({ table }),
    stored: (table, rows) => rowsStored.inc({ table }, rows),
    inserted: () => {
      if (deps.crashAfterInserts !== undefined && ++inserts >= deps.crashAfterInserts) {
        logger.warn({ inserts }, 'fault injection: crashing between ClickHouse insert and offset commit');
        process.kill(process.pid, 'SIGKILL');
      }
    },
    committed: (offsets, seconds) => {
      lag.committed(offsets);
      metrics.get('posguard_batch_duration_seconds').observe({ service }, seconds);
    },
  });
  const flush = () => buffer.flush();

  const timer = setInterval(() => {
    if (buffer.age(Date.now()) >= deps.flushMs) {
      flush().catch((error: unknown) => logger.error({ error: (error as Error).message }, 'ClickHouse refused a batch; its rows stay buffered for the next flush'));
    }
  }, Math.max(10, Math.floor(deps.flushMs / 4)));

  // A stop ends the wait for ClickHouse: what is not stored is not committed, and is read again by the next sink.
  let stopping = false;
  let stopped = () => {};
  const stopSignal = new Promise<void>((resolve) => { stopped = resolve; });

  /** Flushes until ClickHouse accepts, with backoff; the consumer waits (back-pressure) but stays in its group. */
  async function flushUntilAccepted(heartbeat: () => Promise<void>): Promise<void> {
    await retrying(backoffs.clickhouseInsert, flush, {
      // Whatever ClickHouse answers, the rows stay buffered and nothing is skipped: only a stop ends the wait.
      retriable: () => true,
      stopping: stopSignal,
      stopped: () => stopping,
      onRetry: async (attempt, delayMs, error) => {
        logger.error({ attempt, retryInMs: Math.round(delayMs), error: (error as Error).message }, 'ClickHouse refused a batch; its rows stay buffered and consumption waits');
        await heartbeat();
      },
    });
  }

  const toRows = batchToRows({ service, serdes, logger, metrics }, store, deps.eventTimeMaxAheadMs);
  await consumer.run(async (batch, context) => {
    const { rows, dead } = await toRows(batch);
    // At-least-once like the rows: dead letters are keyed by source offset, so a resent one collapses.
    if (dead.length > 0) await deadLetterProducer.send([{ topic: topics.deadLetters, records: dead }]);
    buffer.add(tableOfTopic[batch.topic]!, rows, batch.records.length, { topic: batch.topic, partition: batch.partition, offset: batch.nextOffset });
    consumed.inc({ service, topic: batch.topic }, batch.records.length);
    lag.consumed(batch);
    if (buffer.buffered >= deps.batchRecords) await flushUntilAccepted(context.heartbeat);
  });

  return {
    ready: () => consumer.joined() && !buffer.refused,
    flush,
    async stop() {
      stopping = true;
      stopped();
      clearInterval(timer);
      await flush().catch((error: unknown) => logger.error({ error }, 'final sink flush failed'));
      await consumer.disconnect();
      await deadLetterProducer.disconnect();
    },
  };
}

/**
 * The sink's lag is what is not yet stored: the partition's end minus the committed offset (its
 * consumed position runs ahead while ClickHouse refuses inserts, and would hide that).
 */
function sinkLag(metrics: Metrics, service: string) {
  const gauge = metrics.get('posguard_consumer_lag_records');
  const partitions = new Map<string, { topic: string; partition: number; end: number; committed: number }>();
  const report = (p: { topic: string; partition: number; end: number; committed: number }) =>
    gauge.set({ service, topic: p.topic, partition: String(p.partition) }, Math.max(0, p.end - p.committed));
  return {
    consumed(batch: ConsumedBatch) {
      const at = `${batch.topic}:${batch.partition}`;
      const p = partitions.get(at) ?? { topic: batch.topic, partition: batch.partition, end: 0, committed: batch.records[0]?.offset ?? 0 };
      p.end = batch.highWatermark;
      partitions.set(at, p);
      report(p);
    },
    committed(offsets: readonly TopicPartitionOffset[]) {
      for (const o of offsets) {
        const p = partitions.get(`${o.topic}:${o.partition}`);
        if (p === undefined) continue;
        p.committed = o.offset;
        report(p);
      }
    },
  };
}

/**
 * A consumed batch as rows of its table, each record admitted first: profiles meet the enricher's
 * rules, owners included; a dead letter is evidence and is kept, masked whoever wrote it; anything
 * else produced to Kafka may hold a clear PAN. A record refused becomes a dead letter.
 */
function batchToRows(decode: DecodeDeps, store: RowStore, eventTimeMaxAheadMs: number | undefined) {
  /**
   * Who registered each merchant and terminal. The tables hold it (a profile changing hands never
   * reaches them), so a restarted sink asks them for the ids of each batch it has not seen.
   */
  const owners = new ProfileOwners();
  const ownersAskedFor = new Set<string>();
  async function learnStoredOwners(kind: ProfileKind, profiles: (MerchantProfile | TerminalProfile)[]): Promise<void> {
    const ids = [...new Set(profiles.map((p) => profileIdOf(kind, p)))].filter((id) => !ownersAskedFor.has(`${kind}:${id}`));
    if (ids.length === 0) return;
    for (const { id, owner } of await store.ownersOf(kind, ids)) owners.remember(kind, id, owner);
    for (const id of ids) ownersAskedFor.add(`${kind}:${id}`);
  }
  const admission = () => (eventTimeMaxAheadMs === undefined ? {} : { now: Date.now(), maxAheadMs: eventTimeMaxAheadMs });

  return async (batch: ConsumedBatch): Promise<{ rows: Record<string, unknown>[]; dead: OutgoingRecord[] }> => {
    const profileKind = profileKindOf(batch.topic);
    if (profileKind !== undefined) {
      // Profile topics are low in volume: their values are decoded here once more, to ask for the owners first.
      const serde = decode.serdes.forTopic(batch.topic);
      await serde.prepare(batch.records.map((r) => r.value));
      const readable = batch.records.flatMap((r) => { try { return r.value === null ? [] : [serde.decode(r.value) as MerchantProfile]; } catch { return []; } });
      await learnStoredOwners(profileKind, readable);
    }
    const rows: Record<string, unknown>[] = [];
    // A tombstone (compaction) has nothing to store.
    const dead = await decodeBatch(decode, batch, (record) => record.value !== null, (decoded) => {
      let value = decoded;
      if (profileKind !== undefined) admitProfile(owners, profileKind, batch.topic, value as MerchantProfile | TerminalProfile);
      else if (batch.topic === topics.deadLetters) value = keptLetter(value as DeadLetter);
      else if (batch.topic === topics.authorisations) admitRecord('authorisation', value, batch.topic, admission());
      else if (batch.topic === topics.cardOutcomes) admitRecord('outcome', value, batch.topic);
      else refuseClearPans(value, batch.topic);
      rows.push(rowOf(batch.topic, value));
    });
    return { rows, dead };
  };
}
