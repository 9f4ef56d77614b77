/**
 * Over HTTP, one acquirer cannot change a merchant or terminal another registered: 403, nothing
 * written. Ingest learns the owners from the profile topics (the same feed after a restart) and from
 * what it has just written. Embedded: the in-process log, with ingest's real profile feed on it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaCatalog, schemasDir } from '../../services/core/codec/schema-catalog.ts';
import { createInProcessSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import type { TerminalProfile } from '../../services/core/records.ts';
import { ProfileFeed } from '../../services/core/service/profile-feed.ts';
import { ensureTopics } from '../../services/core/service/topology.ts';
import { createInProcessTransport } from '../../services/core/transport/in-process/in-process-log.ts';
import { buildIngestApp } from '../../services/ingest/app.ts';

const keys = { 'acq-eu-01': 'acquirer-one-key-0123456789', 'acq-eu-02': 'acquirer-two-key-0123456789' };
const example = (name: string) => JSON.parse(readFileSync(`${schemasDir}/examples/${name}.json`, 'utf8')) as Record<string, unknown>;
const merchant: Record<string, unknown> = { ...example('MerchantProfile'), acquirerId: 'acq-eu-01' };
const { acquirerId: _, ...terminalNamingNoAcquirer } = example('TerminalProfile');
const transport = createInProcessTransport();
const logger = createLogger({ level: 'silent' });
let serdes: Serdes;
const feeds: ProfileFeed[] = [];

async function startIngest() {
  const feed = new ProfileFeed(transport, serdes, logger);
  feeds.push(feed);
  await feed.start('test.ingest.profiles');
  await feed.catchUp();
  return buildIngestApp({
    producer: await transport.producer(), serdes, catalog: loadSchemaCatalog(), logger, metrics: createMetrics({ defaultMetrics: false }),
    apiKeys: loadConfig({ POSGUARD_API_KEYS: Object.entries(keys).map(([acquirer, key]) => `${acquirer}:${key}`).join(',') }).apiKeys,
    profileOwners: feed.owners,
  });
}
let app: Awaited<ReturnType<typeof startIngest>>;

const post = (path: string, acquirer: keyof typeof keys, body: unknown) =>
  app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', 'x-api-key': keys[acquirer] }, payload: JSON.stringify(body) });
const written = (topic: string) => transport.log.topic(topic).partitions.flat().map((r) => serdes.forTopic(topic).decode(r.value!));

beforeAll(async () => {
  await ensureTopics(transport.admin, 3, 604_800_000);
  serdes = await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog());
  app = await startIngest();
});

afterAll(async () => {
  await app.close();
  for (const feed of feeds) await feed.stop();
  await transport.close();
});

describe('profiles over HTTP', () => {
  it('gives a terminal profile naming no acquirer the acquirer of the key that sent it', async () => {
    expect((await post('/v1/merchants', 'acq-eu-01', merchant)).statusCode).toBe(202);
    expect((await post('/v1/terminals', 'acq-eu-01', terminalNamingNoAcquirer)).statusCode).toBe(202);
    expect((written(topics.terminalProfiles) as TerminalProfile[]).map((t) => t.acquirerId)).toEqual(['acq-eu-01']);
  });

  it('refuses with 403 another acquirer\'s change to a registered merchant or terminal, and writes none of it', async () => {
    const before = [written(topics.merchantProfiles).length, written(topics.terminalProfiles).length];
    const takeover = await post('/v1/merchants', 'acq-eu-02', { ...merchant, acquirerId: 'acq-eu-02', mcc: '6011', updatedAt: (merchant.updatedAt as number) + 1 });
    expect(takeover.statusCode).toBe(403);
    expect(takeover.json()).toMatchObject({ error: 'POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER', indexes: [0] });
    const terminal = await post('/v1/terminals', 'acq-eu-02', [{ ...terminalNamingNoAcquirer, terminalId: 't-acq2-own', merchantId: 'm-acq2-own' }, { ...terminalNamingNoAcquirer, status: 'SUSPENDED' }]);
    expect(terminal.statusCode).toBe(403);
    expect(terminal.json()).toMatchObject({ error: 'POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER', indexes: [1] });
    expect([written(topics.merchantProfiles).length, written(topics.terminalProfiles).length]).toEqual(before);
  });

  it('refuses with 403 a terminal registered under another acquirer\'s merchant, and writes none of it', async () => {
    const before = written(topics.terminalProfiles).length;
    const planted = await post('/v1/terminals', 'acq-eu-02', { ...terminalNamingNoAcquirer, terminalId: 't-planted' });
    expect(planted.statusCode).toBe(403);
    expect(planted.json().message).toMatch(/register a terminal under a merchant that another acquirer registered/);
    expect(written(topics.terminalProfiles).length).toBe(before);
    // Near miss: the merchant's own acquirer places a terminal there.
    expect((await post('/v1/terminals', 'acq-eu-01', { ...terminalNamingNoAcquirer, terminalId: 't-placed' })).statusCode).toBe(202);
  });

  it('gives an outcome naming no acquirer the key\'s, and refuses one naming another', async () => {
    const { acquirerId: _named, ...outcome } = example('CardOutcome');
    expect((await post('/v1/outcomes', 'acq-eu-02', outcome)).statusCode).toBe(202);
    expect(written(topics.cardOutcomes).map((o) => (o as { acquirerId: string | null }).acquirerId)).toEqual(['acq-eu-02']);
    const forged = await post('/v1/outcomes', 'acq-eu-02', { ...outcome, outcomeId: 'forged-1', acquirerId: 'acq-eu-01' });
    expect(forged.statusCode).toBe(403);
    expect(forged.json()).toMatchObject({ error: 'POSGUARD_ERR_INGEST_WRONG_ACQUIRER' });
  });

  it('still lets the owner change its merchant (near miss: same change, the registering acquirer\'s key)', async () => {
    expect((await post('/v1/merchants', 'acq-eu-01', { ...merchant, riskTier: 'HIGH', updatedAt: (merchant.updatedAt as number) + 1 })).statusCode).toBe(202);
  });

  it('knows the owners again after a restart, from the profile topics', async () => {
    await app.close();
    app = await startIngest();
    expect((await post('/v1/merchants', 'acq-eu-02', { ...merchant, acquirerId: 'acq-eu-02' })).statusCode).toBe(403);
    expect((await post('/v1/terminals', 'acq-eu-02', terminalNamingNoAcquirer)).statusCode).toBe(403);
  });
});
