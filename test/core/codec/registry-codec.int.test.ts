import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { fromJsonForm } from '../../../services/core/codec/json-form.ts';
import { loadSchemaCatalog, schemasDir } from '../../../services/core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry } from '../../../services/core/codec/schema-registry.ts';
import { registerSerdes, schemaIdOf } from '../../../services/core/codec/serde.ts';
import { topicContracts, valueSubject } from '../../../services/core/codec/topics.ts';
import { isPosguardError } from '../../../services/core/errors.ts';
import { cardOutcomeV1, cardOutcomeWithDefaultedField, cardOutcomeWithRequiredField } from './schema-variants.ts';

const registryUrl = inject('endpoints').schemaRegistryUrl;
const catalog = loadSchemaCatalog();

async function registryJson(path: string): Promise<unknown> {
  const response = await fetch(`${registryUrl}${path}`);
  expect(response.status, path).toBe(200);
  return response.json();
}

describe('Avro codec against the real schema registry', () => {
  it('registers a new subject started by four services at the same moment: one id for all, no "incompatible"', async () => {
    // Before registration retried, this failed in 3 of 5 rounds on Apicurio ("A rule named 'COMPATIBILITY' already exists").
    for (let round = 0; round < 5; round++) {
      const subject = `race-${randomUUID()}-value`;
      const ids = await Promise.all(Array.from({ length: 4 }, () => createConfluentSchemaRegistry(registryUrl).register(subject, cardOutcomeV1())));
      expect(new Set(ids).size).toBe(1);
    }
  });

  it('registers every topic schema under <topic>-value with BACKWARD compatibility, idempotently', async () => {
    const registry = createConfluentSchemaRegistry(registryUrl);
    const first = await registerSerdes(registry, catalog);
    const second = await registerSerdes(createConfluentSchemaRegistry(registryUrl), catalog);
    for (const { topic } of topicContracts) {
      expect(second.forTopic(topic).schemaId).toBe(first.forTopic(topic).schemaId);
      const latest = (await registryJson(`/subjects/${valueSubject(topic)}/versions/latest`)) as { id: number };
      expect(latest.id).toBe(first.forTopic(topic).schemaId);
      const config = (await registryJson(`/config/${valueSubject(topic)}`)) as { compatibilityLevel: string };
      expect(config.compatibilityLevel).toBe('BACKWARD');
    }
  });

  it.each(topicContracts.filter((c) => c.internal === undefined))('round-trips the $recordName example through the wire format', async ({ topic, recordName }) => {
    const serde = (await registerSerdes(createConfluentSchemaRegistry(registryUrl), catalog)).forTopic(topic);
    const parsed = fromJsonForm(serde.type, JSON.parse(readFileSync(join(schemasDir, 'examples', `${recordName}.json`), 'utf8')));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const bytes = serde.encode(parsed.value);
    expect(bytes[0]).toBe(0);
    expect(schemaIdOf(bytes)).toBe(serde.schemaId);

    // A reader that has never seen the id learns the writer schema from the registry.
    const reader = (await registerSerdes(createConfluentSchemaRegistry(registryUrl), catalog)).forTopic(topic);
    await reader.prepare([bytes]);
    expect(reader.decode(bytes)).toEqual(parsed.value);
  });

  it('accepts a BACKWARD-compatible change and rejects an incompatible one with a clear error', async () => {
    const registry = createConfluentSchemaRegistry(registryUrl);
    const subject = `compatibility-${randomUUID()}-value`;
    const v1 = await registry.register(subject, cardOutcomeV1());
    const v2 = await registry.register(subject, cardOutcomeWithDefaultedField());
    expect(v2).not.toBe(v1);
    const versions = (await registryJson(`/subjects/${subject}/versions`)) as number[];
    expect(versions).toHaveLength(2);

    const attempt = registry.register(subject, cardOutcomeWithRequiredField());
    await expect(attempt).rejects.toSatisfy((e) => isPosguardError(e, 'POSGUARD_ERR_REGISTRY_INCOMPATIBLE'));
    await expect(attempt).rejects.toThrow(new RegExp(`${subject}.*not BACKWARD compatible`));
    expect(await registryJson(`/subjects/${subject}/versions`)).toHaveLength(2);
  });
});
