import { describe, expect, it } from 'vitest';
import { isPosguardError } from '../../../services/core/errors.ts';
import { loadSchemaCatalog } from '../../../services/core/codec/schema-catalog.ts';
import { createInProcessSchemaRegistry } from '../../../services/core/codec/schema-registry.ts';
import { registerSerdes, schemaIdOf } from '../../../services/core/codec/serde.ts';
import { topics } from '../../../services/core/codec/topics.ts';
import { registry } from '../../detectors/world.ts';
import { cardOutcomeV1, cardOutcomeWithDefaultedField, cardOutcomeWithRequiredField } from './schema-variants.ts';

describe('in-process schema registry', () => {
  it('returns the same id for the same schema and a new one for a compatible change', async () => {
    const registry = createInProcessSchemaRegistry();
    const v1 = await registry.register('outcomes-value', cardOutcomeV1());
    expect(await registry.register('outcomes-value', cardOutcomeV1())).toBe(v1);
    const v2 = await registry.register('outcomes-value', cardOutcomeWithDefaultedField());
    expect(v2).not.toBe(v1);
    expect(JSON.parse(await registry.schemaText(v2)).fields.at(-1).name).toBe('channel');
  });

  it('rejects a change that cannot read older records, naming the subject', async () => {
    const registry = createInProcessSchemaRegistry();
    await registry.register('outcomes-value', cardOutcomeV1());
    const attempt = registry.register('outcomes-value', cardOutcomeWithRequiredField());
    await expect(attempt).rejects.toSatisfy((e) => isPosguardError(e, 'POSGUARD_ERR_REGISTRY_INCOMPATIBLE'));
    await expect(attempt).rejects.toThrow(/outcomes-value.*not BACKWARD compatible/);
  });
});

describe('topic serdes over the in-process registry', () => {
  it('frames values in the Confluent wire format with the registered id', async () => {
    const serdes = await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog());
    const serde = serdes.forTopic(topics.cardOutcomes);
    const outcome = { outcomeId: 'o-1', cardToken: 'tok-1', kind: 'LOST_STOLEN', fraudRelated: true, reportedAt: 1, disputedEventIds: [], note: null, acquirerId: null };
    const bytes = serde.encode(outcome);
    expect(bytes[0]).toBe(0);
    expect(schemaIdOf(bytes)).toBe(serde.schemaId);
    expect(serde.decode(bytes)).toEqual(outcome);
  });

  it('reads records written with an older schema once the batch is prepared', async () => {
    const registry = createInProcessSchemaRegistry();
    const catalog = loadSchemaCatalog();
    // A producer with an older CardOutcome (no fraudRelated, no note) wrote this record.
    const older = JSON.parse(cardOutcomeV1());
    older.fields = older.fields.filter((f: { name: string }) => f.name !== 'fraudRelated' && f.name !== 'note');
    const olderId = await registry.register('legacy-producer-value', JSON.stringify(older));
    const avro = (await import('avsc')).default;
    const olderType = avro.Type.forSchema(older);
    const body = olderType.toBuffer({ outcomeId: 'o-2', cardToken: 'tok-2', kind: 'COMPLAINT', reportedAt: 5, disputedEventIds: ['e-1'] });
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, olderId]), body]);

    const lookups: Record<string, number> = { hit: 0, miss: 0 };
    const serde = (await registerSerdes(registry, catalog, (result, records) => (lookups[result] = (lookups[result] ?? 0) + records))).forTopic(topics.cardOutcomes);
    expect(() => serde.decode(framed)).toThrow(/has not prepared/);
    await serde.prepare([framed]);
    // The older id is fetched once; after that it, and the reader's own id, are known.
    expect(lookups).toEqual({ hit: 0, miss: 1 });
    await serde.prepare([framed, framed, serde.encode({ outcomeId: 'o-3', cardToken: 'tok-3', kind: 'COMPLAINT', fraudRelated: false, reportedAt: 6, disputedEventIds: [], note: null, acquirerId: null })]);
    expect(lookups).toEqual({ hit: 3, miss: 1 });
    expect(serde.decode(framed)).toEqual({
      outcomeId: 'o-2', cardToken: 'tok-2', kind: 'COMPLAINT', fraudRelated: false, reportedAt: 5, disputedEventIds: ['e-1'], note: null, acquirerId: null,
    });
  });

  it('refuses, record by record, a value framed with another topic\'s schema id, and reads the values around it', async () => {
    const serdes = await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog());
    const outcomes = serdes.forTopic(topics.cardOutcomes);
    const outcome = { outcomeId: 'o-1', cardToken: 'tok-1', kind: 'LOST_STOLEN', fraudRelated: true, reportedAt: 1, disputedEventIds: [], note: null, acquirerId: null };
    // A valid MerchantProfile in the Confluent framing, with merchant.profiles.v1-value's id: a poison pill on card.outcomes.v1.
    const merchant = registry().find((r) => r.kind === 'merchant')!.record;
    const poison = serdes.forTopic(topics.merchantProfiles).encode(merchant);
    const batch = [outcomes.encode(outcome), poison, outcomes.encode({ ...outcome, outcomeId: 'o-2' })];
    await outcomes.prepare(batch);
    expect(outcomes.decode(batch[0]!)).toEqual(outcome);
    expect(() => outcomes.decode(batch[1]!)).toThrow(expect.objectContaining({
      code: 'POSGUARD_ERR_CODEC_INCOMPATIBLE_SCHEMA', message: expect.stringContaining('MerchantProfile'),
    }));
    expect(outcomes.decode(batch[2]!)).toEqual({ ...outcome, outcomeId: 'o-2' });
    // The next batch with the same id is refused the same way, without asking the registry again.
    await outcomes.prepare([poison]);
    expect(() => outcomes.decode(poison)).toThrow(expect.objectContaining({ code: 'POSGUARD_ERR_CODEC_INCOMPATIBLE_SCHEMA' }));
  });

  it('refuses bytes that are not framed and records that do not fit the schema', async () => {
    const serde = (await registerSerdes(createInProcessSchemaRegistry(), loadSchemaCatalog())).forTopic(topics.cardOutcomes);
    expect(() => serde.decode(Buffer.from('{"outcomeId":"x"}'))).toThrow(expect.objectContaining({ code: 'POSGUARD_ERR_CODEC_NOT_AVRO_FRAMED' }));
    expect(() => serde.encode({ outcomeId: 'o-3', cardToken: 'tok', kind: 'MAYBE', reportedAt: 1, disputedEventIds: [] }))
      .toThrow(expect.objectContaining({ code: 'POSGUARD_ERR_CODEC_INVALID_RECORD', message: expect.stringContaining('kind') }));
  });
});

describe('the VIRTUAL terminal kind', () => {
  it('is a BACKWARD-compatible change of TerminalProfile and EnrichedAuthorisation: both read records written before it', async () => {
    const catalog = loadSchemaCatalog();
    for (const recordName of ['TerminalProfile', 'EnrichedAuthorisation']) {
      const current = catalog.standaloneSchema(recordName);
      const before = current.replace(',"VIRTUAL"]', ']');
      expect(before).not.toBe(current);
      const registry = createInProcessSchemaRegistry();
      const beforeId = await registry.register(`${recordName}-value`, before);
      expect(await registry.register(`${recordName}-value`, current)).not.toBe(beforeId);
    }
  });
});
