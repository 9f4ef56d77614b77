import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromJsonForm, toJsonForm } from '../../../services/core/codec/json-form.ts';
import { loadSchemaCatalog, schemasDir } from '../../../services/core/codec/schema-catalog.ts';
import { topicContracts } from '../../../services/core/codec/topics.ts';

interface AnySchema {
  type?: unknown;
  name?: string;
  namespace?: string;
  doc?: string;
  fields?: { name: string; type: unknown; doc?: string }[];
  symbols?: string[];
  default?: unknown;
  items?: unknown;
  values?: unknown;
}

/** Every named record and enum inside a schema, however deeply nested. */
function namedTypes(schema: unknown, found: AnySchema[] = []): AnySchema[] {
  if (Array.isArray(schema)) {
    for (const branch of schema) namedTypes(branch, found);
  } else if (schema !== null && typeof schema === 'object') {
    const s = schema as AnySchema;
    if (s.type === 'record' || s.type === 'enum') found.push(s);
    for (const field of s.fields ?? []) namedTypes(field.type, found);
    if (s.items !== undefined) namedTypes(s.items, found);
    if (s.values !== undefined) namedTypes(s.values, found);
    if (typeof s.type === 'object') namedTypes(s.type, found);
  }
  return found;
}

const files = readdirSync(schemasDir).filter((f) => f.endsWith('.avsc'));
const catalog = loadSchemaCatalog();

describe('Avro schemas', () => {
  it('has one schema file per topic record', () => {
    expect(files.map((f) => f.replace('.avsc', '')).sort()).toEqual([...new Set(topicContracts.map((c) => c.recordName))].sort());
  });

  it.each(files)('%s parses with avsc and documents every record, field and enum', (file) => {
    const schema = JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as AnySchema;
    expect(['dev.posguard.v1', 'dev.posguard.internal.v1']).toContain(schema.namespace);
    expect(catalog.type(schema.name!).name).toBe(`${schema.namespace}.${schema.name}`);
    for (const named of namedTypes(schema)) {
      expect(named.doc, `${named.name} has no doc`).toBeTruthy();
      for (const field of named.fields ?? []) expect(field.doc, `${named.name}.${field.name} has no doc`).toBeTruthy();
      if (named.type === 'enum') {
        // An enum default lets readers of an older schema read a symbol added later.
        expect(named.symbols, `${named.name} default`).toContain(named.default);
      }
    }
  });

  it('inlines referenced types so each registered schema stands alone', () => {
    const standalone = JSON.parse(catalog.standaloneSchema('EnrichedAuthorisation')) as AnySchema;
    const authorisation = standalone.fields!.find((f) => f.name === 'authorisation')!;
    expect((authorisation.type as AnySchema).name).toBe('dev.posguard.v1.AuthorisationEvent');
  });

  it.each(topicContracts.filter((c) => c.internal === undefined).map((c) => c.recordName))('example %s is valid and survives the JSON form and Avro binary', (recordName) => {
    const json = JSON.parse(readFileSync(join(schemasDir, 'examples', `${recordName}.json`), 'utf8')) as unknown;
    const type = catalog.type(recordName);
    const parsed = fromJsonForm(type, json);
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    if (!parsed.ok) return;
    const decoded = type.fromBuffer(type.toBuffer(parsed.value));
    expect(JSON.parse(toJsonForm(decoded))).toEqual(json);
  });

  it('names the bad fields of an invalid JSON record', () => {
    const json = JSON.parse(readFileSync(join(schemasDir, 'examples', 'AuthorisationEvent.json'), 'utf8')) as Record<string, unknown>;
    const result = fromJsonForm(catalog.type('AuthorisationEvent'), { ...json, amountMinor: '12,50', entryMode: 'TELEPATHY', cardToken: undefined });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.path).sort()).toEqual(['amountMinor', 'cardToken', 'entryMode']);
    expect(result.errors.find((e) => e.path === 'amountMinor')!.message).toContain('"12,50"');
  });
});
