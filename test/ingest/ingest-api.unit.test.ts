import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaCatalog, schemasDir } from '../../services/core/codec/schema-catalog.ts';
import { createInProcessSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import type { DeadLetter } from '../../services/core/records.ts';
import { ensureTopics } from '../../services/core/service/topology.ts';
import { createInProcessTransport } from '../../services/core/transport/in-process/in-process-log.ts';
import { buildIngestApp } from '../../services/ingest/app.ts';
import { ProfileOwners } from '../../services/core/profile-ownership.ts';

const key = 'acquirer-one-key-0123456789';
const example = JSON.parse(readFileSync(`${schemasDir}/examples/AuthorisationEvent.json`, 'utf8')) as Record<string, unknown>;
const transport = createInProcessTransport();
let serdes: Serdes;
let app: ReturnType<typeof buildIngestApp>;

const post = (body: unknown, headers: Record<string, string> = { 'x-api-key': key }) =>
  app.inject({ method: 'POST', url: '/v1/authorisations', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
const recordsIn = (topic: string) => transport.log.topic(topic).partitions.flat();

beforeAll(async () => {
  await ensureTopics(transport.admin, 3, 604_800_000);
  serdes = await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog());
  app = buildIngestApp({ profileOwners: new ProfileOwners(),
    producer: await transport.producer(), serdes, catalog: loadSchemaCatalog(), apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:${key}` }).apiKeys,
    logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }), ratePerAcquirer: 50, bodyLimitBytes: 64 * 1024,
  });
});

afterAll(async () => {
  await app.close();
  await transport.close();
});

describe('HTTP ingest', () => {
  it('refuses requests without a valid acquirer API key with 401', async () => {
    expect((await post(example, {})).statusCode).toBe(401);
    expect((await post(example, { 'x-api-key': 'wrong-key-0123456789' })).statusCode).toBe(401);
    expect(recordsIn(topics.authorisations)).toHaveLength(0);
  });

  it('accepts a valid authorisation with 202 and writes it once, however often it is resent', async () => {
    const first = await post(example);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ accepted: 1, duplicates: 0, rejected: 0 });
    const again = await post([example]);
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const written = recordsIn(topics.authorisations);
    expect(written).toHaveLength(1);
    expect(serdes.forTopic(topics.authorisations).decode(written[0]!.value!)).toMatchObject({ eventId: example.eventId });
  });

  it('refuses with 403 a request that names another acquirer than its key\'s, and writes none of it', async () => {
    const before = recordsIn(topics.authorisations).length;
    const response = await post([{ ...example, eventId: 'mine-1' }, { ...example, eventId: 'theirs-1', acquirerId: 'acq-eu-02' }]);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: 'POSGUARD_ERR_INGEST_WRONG_ACQUIRER', indexes: [1] });
    expect(recordsIn(topics.authorisations)).toHaveLength(before);
  });

  it('keeps one acquirer\'s ids apart from another\'s: a record with an id another acquirer sent first is still written', async () => {
    const other = buildIngestApp({ profileOwners: new ProfileOwners(),
      producer: await transport.producer(), serdes, catalog: loadSchemaCatalog(), apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:${key},acq-eu-02:${key}-2` }).apiKeys,
      logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }), ratePerAcquirer: 50, bodyLimitBytes: 64 * 1024,
    });
    const send = (acquirerId: string, apiKey: string) => other.inject({
      method: 'POST', url: '/v1/authorisations', headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      payload: JSON.stringify({ ...example, eventId: 'shared-id-1', acquirerId }),
    });
    expect((await send('acq-eu-02', `${key}-2`)).json()).toMatchObject({ accepted: 1 });
    expect((await send('acq-eu-01', key)).json()).toMatchObject({ accepted: 1, duplicates: 0 });
    await other.close();
  });

  it('answers 413, not a retry, when the log refuses a record as larger than its topic accepts, and does not count the refused id as sent', async () => {
    const small = createInProcessTransport();
    await small.admin.createTopics([{ topic: topics.authorisations, partitions: 3, config: { 'max.message.bytes': '64' } }]);
    await ensureTopics(small.admin, 3, 604_800_000);
    const strict = buildIngestApp({ profileOwners: new ProfileOwners(),
      producer: await small.producer(), serdes, catalog: loadSchemaCatalog(), apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:${key}` }).apiKeys,
      logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }), ratePerAcquirer: 50,
    });
    const send = (record: unknown) => strict.inject({ method: 'POST', url: '/v1/authorisations', headers: { 'content-type': 'application/json', 'x-api-key': key }, payload: JSON.stringify(record) });
    const large = { ...example, eventId: 'too-large-1' };
    // Twice: the refused id is not remembered, so the second answer is 413 again rather than "duplicate".
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await send(large);
      expect(response.statusCode).toBe(413);
      expect(response.json()).toMatchObject({ error: 'POSGUARD_ERR_INGEST_RECORD_TOO_LARGE' });
      expect(response.headers['retry-after']).toBeUndefined();
    }
    expect(small.log.topic(topics.authorisations).partitions.flat()).toHaveLength(0);
    await strict.close();
    await small.close();
  });

  it('keeps every record of a large rejected batch as one bounded dead letter, and details only the first rejections in the answer', async () => {
    const large = buildIngestApp({ profileOwners: new ProfileOwners(),
      producer: await transport.producer(), serdes, catalog: loadSchemaCatalog(), apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:${key}` }).apiKeys,
      logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }), ratePerAcquirer: 20_000,
    });
    const before = recordsIn(topics.deadLetters).length;
    // Records wrong in every field: each would list a dozen field errors.
    const response = await large.inject({ method: 'POST', url: '/v1/authorisations', headers: { 'content-type': 'application/json', 'x-api-key': key },
      payload: JSON.stringify(Array.from({ length: 5_000 }, (_, i) => ({ eventId: `bare-${i}` }))) });
    expect(response.statusCode).toBe(400);
    const answer = response.json() as { rejected: number; results: { fieldErrors?: unknown[] }[] };
    expect(answer.rejected).toBe(5_000);
    expect(answer.results.filter((r) => r.fieldErrors !== undefined)).toHaveLength(100);
    const letters = recordsIn(topics.deadLetters).slice(before);
    expect(letters).toHaveLength(5_000);
    const decoded = letters.map((l) => serdes.forTopic<DeadLetter>(topics.deadLetters).decode(l.value!));
    expect(new Set(decoded.map((l) => l.letterId)).size).toBe(5_000);
    expect(Math.max(...decoded.map((l) => l.fieldErrors.length))).toBe(4);
    expect(decoded[0]!.fieldErrors.at(-1)!.message).toMatch(/^and \d+ more fields are wrong$/);
    expect(Math.max(...letters.map((l) => l.value!.length))).toBeLessThan(1024);
    await large.close();
  });

  it('refuses an authorisation that fits the schema but makes no sense, naming the field, and dead-letters it', async () => {
    const response = await post([
      { ...example, eventId: 'future-1', eventTime: Date.now() + 40 * 86_400_000 },
      { ...example, eventId: 'negative-1', amountMinor: -500 },
    ]);
    expect(response.statusCode).toBe(400);
    expect(response.json().results.map((r: { fieldErrors: { path: string }[] }) => r.fieldErrors.map((e) => e.path))).toEqual([['eventTime'], ['amountMinor']]);
    const letters = recordsIn(topics.deadLetters).map((r) => serdes.forTopic<DeadLetter>(topics.deadLetters).decode(r.value!));
    expect(letters.filter((l) => /future-1|negative-1/.test(l.originalKey.toString())).map((l) => l.errorCode)).toEqual(['POSGUARD_ERR_INGEST_INVALID', 'POSGUARD_ERR_INGEST_INVALID']);
  });

  it('answers an invalid record with 400 and field-level errors, and keeps it in the dead-letter topic', async () => {
    const response = await post({ ...example, eventId: 'bad-1', amountMinor: '12,50' });
    expect(response.statusCode).toBe(400);
    expect(response.json().results[0].fieldErrors).toEqual([{ path: 'amountMinor', message: 'expected long, got "12,50"' }]);
    const letters = recordsIn(topics.deadLetters).map((r) => serdes.forTopic<DeadLetter>(topics.deadLetters).decode(r.value!));
    expect(letters.some((d) => d.service === 'ingest' && d.errorCode === 'POSGUARD_ERR_INGEST_INVALID' && d.originalValue.toString().includes('12,50'))).toBe(true);
  });

  it('accepts the valid records of a batch and rejects the invalid ones', async () => {
    const response = await post([{ ...example, eventId: 'batch-1' }, { ...example, eventId: 'batch-2', entryMode: 'TELEPATHY' }]);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ accepted: 1, rejected: 1 });
  });

  it('refuses a clear card number and never writes it, not even in the dead letter', async () => {
    const response = await post({ ...example, eventId: 'pan-1', cardToken: '4111 1111 1111 1111' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('POSGUARD_ERR_INGEST_CLEAR_PAN');
    const everything = [...recordsIn(topics.authorisations), ...recordsIn(topics.deadLetters)].map((r) => r.value!.toString('latin1')).join('');
    expect(everything).not.toContain('4111 1111 1111 1111');
    expect(everything).toContain('411111******1111');
  });

  it('never echoes a card number sent as an id: the answer, the dead letter and its key hold it masked', async () => {
    const response = await post({ ...example, eventId: 'm-4111111111111111', amountMinor: -5 });
    expect(response.statusCode).toBe(400);
    expect(response.json().results[0].id).toBe('m-411111******1111');
    const letters = recordsIn(topics.deadLetters);
    expect(letters.filter((r) => r.key!.toString() === 'm-411111******1111')).toHaveLength(1);
    expect(letters.map((r) => `${r.key!.toString('latin1')}${r.value!.toString('latin1')}`).join('')).not.toContain('4111111111111111');
  });

  it('refuses a field longer than any record holds before reading it further, with a bounded answer, letter and key', async () => {
    const response = await post({ ...example, eventId: `e-${'9'.repeat(50_000)}` });
    expect(response.statusCode).toBe(400);
    const answer = response.json();
    expect(answer.results[0].fieldErrors).toEqual([{ path: 'eventId', message: 'must be at most 2000 characters, got 50002' }]);
    expect(answer.results[0].id.length).toBeLessThan(200);
    const letter = recordsIn(topics.deadLetters).find((r) => r.key!.toString().includes('(50002 characters)'));
    expect(letter!.key!.length).toBeLessThan(300);
    expect(letter!.value!.length).toBeLessThan(2_000);
  });

  it('turns away an address that keeps presenting wrong keys, whatever key it sends next', async () => {
    const throttled = buildIngestApp({ profileOwners: new ProfileOwners(),
      producer: await transport.producer(), serdes, catalog: loadSchemaCatalog(), apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:${key}` }).apiKeys,
      logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }), failureBrake: { maxFailures: 5, windowMs: 60_000 },
    });
    const send = (apiKey: string, remoteAddress: string) => throttled.inject({ method: 'POST', url: '/v1/authorisations', remoteAddress,
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey }, payload: JSON.stringify({ ...example, eventId: 'brake-1' }) });
    for (let i = 0; i < 5; i++) expect((await send(`guess-${i}-0123456789`, '127.0.0.7')).statusCode).toBe(401);
    const turnedAway = await send(key, '127.0.0.7');
    expect(turnedAway.statusCode).toBe(429);
    expect(turnedAway.json().error).toBe('POSGUARD_ERR_AUTH_THROTTLED');
    expect(Number(turnedAway.headers['retry-after'])).toBeGreaterThan(0);
    expect((await send(key, '127.0.0.8')).statusCode).toBe(202);
    await throttled.close();
  });

  it('answers 429 once an acquirer exceeds its rate', async () => {
    // Two batches within the rate each (50 a second), back to back: the second is over it.
    const batch = (from: number) => Array.from({ length: 40 }, (_, i) => ({ ...example, eventId: `rate-${from + i}` }));
    await post(batch(0));
    const response = await post(batch(40));
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('1');
  });

  it('answers 413 naming the limit to a batch larger than an acquirer may send in a second, not 429 forever', async () => {
    const batch = Array.from({ length: 51 }, (_, i) => ({ ...example, eventId: `too-many-${i}` }));
    const response = await post(batch);
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: 'POSGUARD_ERR_INGEST_BATCH_TOO_LARGE', limit: 50 });
    expect(response.json().message).toContain('POSGUARD_INGEST_RATE_PER_ACQUIRER');
  });

  it('answers 413 over the body size limit', async () => {
    const response = await post({ ...example, eventId: 'big', mcc: 'x'.repeat(100 * 1024) });
    expect(response.statusCode).toBe(413);
  });

  it('takes a key configured by its SHA-256 digest, and an acquirer\'s old and new keys side by side during a rotation', async () => {
    const [oldKey, newKey] = ['acquirer-old-key-0123456789', 'acquirer-new-key-0123456789'];
    const digestOf = (k: string) => createHash('sha256').update(k).digest('hex');
    const rotating = buildIngestApp({ profileOwners: new ProfileOwners(),
      producer: await transport.producer(), serdes, catalog: loadSchemaCatalog(),
      apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:sha256:${digestOf(oldKey)}, acq-eu-01:sha256:${digestOf(newKey)}` }).apiKeys,
      logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }), ratePerAcquirer: 50,
    });
    const send = (apiKey: string) => rotating.inject({
      method: 'POST', url: '/v1/authorisations', headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      payload: JSON.stringify({ ...example, eventId: `rotation-${apiKey}` }),
    });
    expect((await send(oldKey)).statusCode).toBe(202);
    expect((await send(newKey)).statusCode).toBe(202);
    expect((await send(digestOf(oldKey))).statusCode).toBe(401);
    await rotating.close();
  });

  it('serves an OpenAPI document derived from the Avro schemas at /docs', async () => {
    const doc = (await app.inject('/docs')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/v1/authorisations', '/v1/merchants', '/v1/terminals', '/v1/outcomes']);
    expect(doc.components.schemas.AuthorisationEvent.properties.entryMode.enum).toContain('FALLBACK');
  });
});
