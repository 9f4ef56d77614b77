/**
 * Whatever an acquirer sends, ingest answers with a status that says what happened and never with a
 * server error; every record of a request is either accepted, a duplicate or rejected, and each
 * rejected one is in the dead-letter topic. Bodies are generated (fast-check), among them valid
 * authorisations with fields replaced by arbitrary JSON, and bodies nested far too deep.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchemaCatalog, schemasDir } from '../../services/core/codec/schema-catalog.ts';
import { createInProcessSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes } from '../../services/core/codec/serde.ts';
import { topics } from '../../services/core/codec/topics.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import { ensureTopics } from '../../services/core/service/topology.ts';
import { createInProcessTransport } from '../../services/core/transport/in-process/in-process-log.ts';
import { buildIngestApp } from '../../services/ingest/app.ts';
import { ProfileOwners } from '../../services/core/profile-ownership.ts';

const key = 'fuzzing-acquirer-key-0123456789';
const example = JSON.parse(readFileSync(`${schemasDir}/examples/AuthorisationEvent.json`, 'utf8')) as Record<string, unknown>;
const transport = createInProcessTransport();
let app: ReturnType<typeof buildIngestApp>;
const written = (topic: string) => transport.log.topic(topic).partitions.reduce((n, p) => n + p.length, 0);

beforeAll(async () => {
  await ensureTopics(transport.admin, 3, 604_800_000);
  app = buildIngestApp({ profileOwners: new ProfileOwners(),
    producer: await transport.producer(), serdes: await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog()), catalog: loadSchemaCatalog(),
    apiKeys: loadConfig({ POSGUARD_API_KEYS: `acq-eu-01:${key}` }).apiKeys, logger: createLogger({ level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }), ratePerAcquirer: 1_000_000,
  });
});

afterAll(async () => {
  await app.close();
  await transport.close();
});

const post = (payload: string) => app.inject({ method: 'POST', url: '/v1/authorisations', headers: { 'content-type': 'application/json', 'x-api-key': key }, payload });

/** A valid authorisation with some fields replaced by arbitrary JSON, or dropped. */
const mangledAuthorisation = fc.record({
  replaced: fc.dictionary(fc.constantFrom(...Object.keys(example)), fc.jsonValue(), { maxKeys: 4 }),
  dropped: fc.subarray(Object.keys(example), { maxLength: 2 }),
  id: fc.uuid(),
}).map(({ replaced, dropped, id }) => {
  const record: Record<string, unknown> = { ...example, eventId: `fuzz-${id}`, ...replaced };
  for (const field of dropped) delete record[field];
  return record;
});

describe('ingest under generated input', () => {
  it('never answers 500, and accounts for every record it was sent', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.array(mangledAuthorisation, { minLength: 1, maxLength: 20 }), mangledAuthorisation), async (body) => {
      const [lettersBefore, recordsBefore] = [written(topics.deadLetters), written(topics.authorisations)];
      const response = await post(JSON.stringify(body) ?? 'null');
      expect([202, 400, 403, 413]).toContain(response.statusCode);
      const answer = response.json() as { accepted?: number; duplicates?: number; rejected?: number; error?: string };
      if (answer.accepted === undefined) {
        // Refused whole: a stable code, and nothing written.
        expect(answer.error).toMatch(/^POSGUARD_ERR_/);
        expect(written(topics.authorisations)).toBe(recordsBefore);
        return;
      }
      const sent = Array.isArray(body) ? body.length : 1;
      expect(answer.accepted + answer.duplicates! + answer.rejected!).toBe(sent);
      expect(written(topics.authorisations) - recordsBefore).toBe(answer.accepted);
      expect(written(topics.deadLetters) - lettersBefore).toBe(answer.rejected);
    }), { numRuns: 300, seed: 20261121 });
  });

  it('refuses a body nested 10,000 deep with 400, not a stack overflow', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const response = await post(`[${JSON.stringify(example)}, ${deep}]`);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('nested deeper than 32 levels');
  });
});
