/**
 * Whatever an acquirer sends, on any route, ingest answers with a status that says what happened
 * and never with a server error; every record of a request is either accepted, a duplicate or
 * rejected, and each rejected one is in the dead-letter topic; no clear card number is in the
 * answer, a dead letter or its key. Bodies are generated (fast-check, the suite's fixed seed):
 * arbitrary JSON, and valid records of every kind with fields replaced by arbitrary JSON or by a
 * card number as people paste it, or dropped; and bodies nested far too deep.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaCatalog, schemasDir } from '../../services/core/codec/schema-catalog.ts';
import { createInProcessSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../../services/core/codec/serde.ts';
import type { DeadLetter } from '../../services/core/records.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import { ensureTopics } from '../../services/core/service/topology.ts';
import { createInProcessTransport } from '../../services/core/transport/in-process/in-process-log.ts';
import { buildIngestApp } from '../../services/ingest/app.ts';
import { ProfileOwners } from '../../services/core/profile-ownership.ts';
import { maskPansInText } from '../../services/core/pan.ts';
import { fuzzRuns, pastedPan } from '../support/fuzz.ts';

const key = 'fuzzing-acquirer-key-0123456789';
const exampleOf = (name: string) => JSON.parse(readFileSync(`${schemasDir}/examples/${name}.json`, 'utf8')) as Record<string, unknown>;
const example = exampleOf('AuthorisationEvent');
const routes = [
  { path: '/v1/authorisations', topic: topics.authorisations, example, idField: 'eventId' },
  { path: '/v1/merchants', topic: topics.merchantProfiles, example: exampleOf('MerchantProfile'), idField: 'merchantId' },
  { path: '/v1/terminals', topic: topics.terminalProfiles, example: exampleOf('TerminalProfile'), idField: 'terminalId' },
  { path: '/v1/outcomes', topic: topics.cardOutcomes, example: exampleOf('CardOutcome'), idField: 'outcomeId' },
] as const;
const transport = createInProcessTransport();
let app: ReturnType<typeof buildIngestApp>;
let serdes: Serdes;
const written = (topic: string) => transport.log.topic(topic).partitions.reduce((n, p) => n + p.length, 0);

beforeAll(async () => {
  await ensureTopics(transport.admin, 3, 604_800_000);
  serdes = await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog());
  app = buildIngestApp({ profileOwners: new ProfileOwners(),
    producer: await transport.producer(), serdes, catalog: loadSchemaCatalog(),
    apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:${key}` }).apiKeys, logger: createLogger({ level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }), ratePerAcquirer: 1_000_000,
  });
});

afterAll(async () => {
  await app.close();
  await transport.close();
});

const post = (path: string, payload: string) => app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', 'x-api-key': key }, payload });
const lettersFrom = (offset: number) => transport.log.topic(topics.deadLetters).partitions.flat().slice(offset);
const holdsPan = (text: string) => maskPansInText(text) !== text;
/** Every text in a JSON value, one by one as a reader takes them (joined, ids like UUIDs run into each other). */
const textsOf = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : value !== null && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => [k, ...textsOf(v)]) : [];
/**
 * The texts of a dead letter that come from the client, one by one as they are stored (its raw Avro
 * bytes hold varints, its times and server-made letter id digits, that can read as card numbers).
 */
const letterTexts = (value: Buffer) => {
  const letter = serdes.forTopic<DeadLetter>(topics.deadLetters).decode(value);
  return [letter.originalKey.toString('utf8'), letter.originalValue.toString('utf8'), letter.errorMessage, ...letter.fieldErrors.flatMap((e) => [e.path, e.message])];
};

/** A valid record of the route's kind with some fields replaced by arbitrary JSON or a pasted card number, or dropped. */
const mangled = (route: (typeof routes)[number]) => fc.record({
  replaced: fc.dictionary(fc.constantFrom(...Object.keys(route.example)), fc.oneof(fc.jsonValue(), pastedPan), { maxKeys: 4 }),
  dropped: fc.subarray(Object.keys(route.example), { maxLength: 2 }),
  id: fc.uuid(),
}).map(({ replaced, dropped, id }) => {
  const record: Record<string, unknown> = { ...route.example, [route.idField]: `fuzz-${id}`, ...replaced };
  for (const field of dropped) delete record[field];
  return record;
});

const request = fc.integer({ min: 0, max: routes.length - 1 }).chain((r) => fc.record({
  route: fc.constant(routes[r]!),
  body: fc.oneof(fc.jsonValue(), fc.array(mangled(routes[r]!), { minLength: 1, maxLength: 20 }), mangled(routes[r]!)),
}));

describe('ingest under generated input', () => {
  it('never answers 500, accounts for every record it was sent, and echoes no card number', async () => {
    let records = 0;
    await fc.assert(fc.asyncProperty(request, async ({ route, body }) => {
      const lettersBefore = written(topics.deadLetters);
      const recordsBefore = written(route.topic);
      const response = await post(route.path, JSON.stringify(body) ?? 'null');
      expect([202, 400, 403, 413]).toContain(response.statusCode);
      for (const text of textsOf(response.json())) expect(holdsPan(text), text).toBe(false);
      for (const letter of lettersFrom(lettersBefore)) {
        for (const text of letterTexts(letter.value!)) expect(holdsPan(text), text).toBe(false);
        expect(holdsPan(letter.key?.toString('utf8') ?? ''), letter.key?.toString('utf8')).toBe(false);
      }
      const answer = response.json() as { accepted?: number; duplicates?: number; rejected?: number; error?: string };
      const sent = Array.isArray(body) ? body.length : 1;
      records += sent;
      if (answer.accepted === undefined) {
        // Refused whole: a stable code, and nothing written.
        expect(answer.error).toMatch(/^POSGUARD_ERR_/);
        expect(written(route.topic)).toBe(recordsBefore);
        return;
      }
      expect(answer.accepted + answer.duplicates! + answer.rejected!).toBe(sent);
      expect(written(route.topic) - recordsBefore).toBe(answer.accepted);
      expect(written(topics.deadLetters) - lettersBefore).toBe(answer.rejected);
    }), fuzzRuns(4_000));
    console.log(`[ingest fuzz] ${records} records in generated requests`);
  }, 120_000);

  it('refuses a body nested 10,000 deep with 400, not a stack overflow', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const response = await post('/v1/authorisations', `[${JSON.stringify(example)}, ${deep}]`);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('nested deeper than 32 levels');
  });
});
