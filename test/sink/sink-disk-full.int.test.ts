/**
 * The sink's data directory full (ENOSPC) mid-stream: the embedded ClickHouse engine refuses the
 * inserts, the sink keeps the rows and their offsets, says it is not ready, and once space is freed
 * stores every record exactly once. The directory is a small tmpfs mounted for the test, filled by a
 * file until the kernel refuses more; mounting needs root (CAP_SYS_ADMIN), and where it is refused
 * the test says so and is skipped.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouseTarget } from '../../services/core/clickhouse/client.ts';
import { migrate } from '../../services/core/clickhouse/migrations.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics, type Metrics } from '../../services/core/observability/metrics.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { connectPlatform, type Platform } from '../../services/pipeline/platform.ts';
import { runSink } from '../../services/sink/service.ts';
import { waitFor } from '../support/wait.ts';
import { groupOf } from '../../services/topology/topology.ts';

const mountPoint = mkdtempSync(join(tmpdir(), 'posguard-sink-disk-'));
const mounted = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    return true;
  } catch (error) {
    console.log(`[sink disk full] skipped: mounting a small tmpfs was refused (${(error as Error).message.split('\n')[0]})`);
    return false;
  }
})();
const dataDir = join(mountPoint, 'data');
const filler = join(mountPoint, 'filler');
const logger = createLogger({ level: 'silent', name: 'sink-disk-full' });
const stream = generateStream({ ...defaultGeneratorOptions, seed: 4242, cards: 500, merchants: 80, days: 4 });
let clickhouse: ClickHouseTarget | undefined;
let platform: Platform | undefined;

beforeAll(async () => {
  if (!mounted) return;
  clickhouse = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
  await migrate(clickhouse.client, { database: 'posguard' });
  platform = await connectPlatform(loadConfig({}), logger);
}, 120_000);

afterAll(async () => {
  await platform?.transport.close();
  await clickhouse?.client.close();
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** Writes to the filesystem until the kernel refuses: the disk is full. */
function fillTheDisk(): number {
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(1024 * 1024, 7);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
  return written;
}

const count = async (query: string) => Number((await (await clickhouse!.client.query({ query, format: 'JSONEachRow' })).json<{ n: number }>())[0]!.n);

async function failures(metrics: Metrics): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('posguard_clickhouse_insert_failures_total')!.get();
  return metric.values.reduce((n, v) => n + v.value, 0);
}

describe.skipIf(!mounted)('the sink when its data directory is full', () => {
  it('keeps the rows and their offsets while the disk is full, then stores every record exactly once', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const sink = await runSink({ transport: platform!.transport, serdes: platform!.serdes, clickhouse: clickhouse!.client, database: 'posguard', logger, metrics, batchRecords: 500, flushMs: 50 });
    try {
      const filled = fillTheDisk();
      await produceStream(stream.records, await platform!.transport.producer(), platform!.serdes);
      await waitFor('ClickHouse to refuse a few inserts', async () => (await failures(metrics)) >= 3, 60_000);
      const whileFull = { ready: sink.ready(), committed: (await platform!.transport.admin.committedOffsets(groupOf('sink'), topics.authorisations)).reduce((n, c) => n + Math.max(0, c.offset), 0) };
      rmSync(filler);
      await waitFor('every authorisation stored', async () => (await count('SELECT count() AS n FROM posguard.auth_events FINAL')) === stream.counts.authorisation, 120_000);
      await waitFor('the sink ready again', async () => sink.ready(), 60_000);
      const stored = { final: await count('SELECT count() AS n FROM posguard.auth_events FINAL'), distinct: await count('SELECT uniqExact(acquirerId, eventId) AS n FROM posguard.auth_events') };
      console.log(`[sink disk full] filled ${(filled / 2 ** 20).toFixed(0)} MiB; ${stream.counts.authorisation} authorisations in, ${stored.final} stored (${stored.distinct} distinct), ${await failures(metrics)} refused inserts while full`);
      expect(whileFull.ready).toBe(false);
      expect(whileFull.committed).toBeLessThan(stream.counts.authorisation);
      expect(stored.final).toBe(stream.counts.authorisation);
      expect(stored.distinct).toBe(stream.counts.authorisation);
      expect(await count('SELECT count() AS n FROM posguard.card_outcomes FINAL')).toBe(stream.counts.outcome);
    } finally {
      await sink.stop();
    }
  }, 300_000);
});
