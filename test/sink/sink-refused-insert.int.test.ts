/**
 * The sink when ClickHouse refuses a batch: the rows stay buffered, the offsets stay uncommitted,
 * the sink says it is not ready, and once ClickHouse accepts again every record is stored. On the embedded platform (in-process
 * log) with the real ClickHouse engine (chDB); the refusal is real too: the table is renamed away.
 */
import { describe, expect, it } from 'vitest';
import { topics } from '../../services/core/codec/topics.ts';
import { createMetrics, type Metrics } from '../../services/core/observability/metrics.ts';
import type { StreamRecord } from '../../services/generator/stream.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { runSink } from '../../services/sink/service.ts';
import { DAY, T0, outcome } from '../detectors/world.ts';
import { embeddedSinkWorld } from '../support/embedded-sink.ts';
import { waitFor } from '../support/wait.ts';
import { groupOf } from '../../services/topology/topology.ts';

const { logger, clickhouse, platform } = embeddedSinkWorld('sink-refused-insert');

const outcomes: StreamRecord[] = Array.from({ length: 12 }, (_, i) => {
  const r = outcome({ card: `tok-refused-${i}`, at: T0 + i * DAY });
  return { type: 'outcome', record: r.record } as StreamRecord;
});

async function storedOutcomes(): Promise<number> {
  const [row] = await (await clickhouse().client.query({ query: 'SELECT count() AS n FROM posguard.card_outcomes FINAL', format: 'JSONEachRow' })).json<{ n: number }>();
  return Number(row!.n);
}

async function committedOutcomes(): Promise<number> {
  const committed = await platform().transport.admin.committedOffsets(groupOf('sink'), topics.cardOutcomes);
  return committed.reduce((n, c) => n + Math.max(0, c.offset), 0);
}

async function lagOf(metrics: Metrics, topic: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('posguard_consumer_lag_records')!.get();
  return metric.values.filter((v) => v.labels.topic === topic).reduce((n, v) => n + v.value, 0);
}

async function refusals(metrics: Metrics): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('posguard_clickhouse_insert_failures_total')!.get();
  return metric.values.reduce((n, v) => n + v.value, 0);
}

/** A sink on the embedded platform that flushes every 5 records or 50 ms. */
async function startSink() {
  const metrics = createMetrics({ defaultMetrics: false });
  const sink = await runSink({
    transport: platform().transport, serdes: platform().serdes, clickhouse: clickhouse().client, database: 'posguard', logger, metrics,
    batchRecords: 5, flushMs: 50,
  });
  return { metrics, sink };
}

describe('the sink when ClickHouse refuses a batch', () => {
  it('keeps the rows and their offsets until ClickHouse accepts them, then stores every record once', async () => {
    await clickhouse().client.command({ query: 'RENAME TABLE posguard.card_outcomes TO posguard.card_outcomes_away' });
    const { metrics, sink } = await startSink();
    try {
      await produceStream(outcomes, await platform().transport.producer(), platform().serdes);

      await waitFor('ClickHouse to refuse a few inserts', async () => (await refusals(metrics)) >= 3, 20_000);
      expect(await committedOutcomes()).toBe(0);
      // Consuming, but not storing: not ready, so a probe or a balancer sees it, and the lag counts
      // what is not stored (not what was consumed). Asserted once ClickHouse accepts again: a sink
      // stopped while it refuses would wait for it.
      const whileRefused = { ready: sink.ready(), lag: await lagOf(metrics, topics.cardOutcomes) };
      expect(await refusals(metrics)).toBeGreaterThanOrEqual(3);

      await clickhouse().client.command({ query: 'RENAME TABLE posguard.card_outcomes_away TO posguard.card_outcomes' });
      // (Lag is known for the partitions the sink has consumed from; consumption waits meanwhile.)
      expect(whileRefused.ready).toBe(false);
      expect(whileRefused.lag).toBeGreaterThanOrEqual(5);
      await waitFor('every outcome stored and committed', async () => (await committedOutcomes()) === outcomes.length, 60_000);
      expect(await storedOutcomes()).toBe(outcomes.length);
      expect(sink.ready()).toBe(true);
      expect(await lagOf(metrics, topics.cardOutcomes)).toBe(0);
    } finally {
      await sink.stop();
    }
  });

  it('stops promptly while ClickHouse refuses, leaving what it held uncommitted for the next sink', async () => {
    await clickhouse().client.command({ query: 'RENAME TABLE posguard.card_outcomes TO posguard.card_outcomes_away' });
    const { metrics, sink } = await startSink();
    try {
      const committedBefore = await committedOutcomes();
      const more: StreamRecord[] = Array.from({ length: 12 }, (_, i) => ({ type: 'outcome', record: outcome({ card: `tok-refused-again-${i}`, at: T0 + i * DAY }).record }) as StreamRecord);
      // Before the first refusal the counter is there, at zero: a dashboard sees it from the start.
      expect(await refusals(metrics)).toBe(0);
      await produceStream(more, await platform().transport.producer(), platform().serdes);
      await waitFor('ClickHouse to refuse a few inserts', async () => (await refusals(metrics)) >= 3, 20_000);
      const started = Date.now();
      await sink.stop();
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await committedOutcomes()).toBe(committedBefore);
    } finally {
      await clickhouse().client.command({ query: 'RENAME TABLE posguard.card_outcomes_away TO posguard.card_outcomes' });
    }
  });
});
