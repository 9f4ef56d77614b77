/** Schema evolutions for compatibility tests, built from a real schema of ours. */
import { loadSchemaCatalog } from '../../../services/core/codec/schema-catalog.ts';

interface RecordSchema {
  name: string;
  fields: { name: string; type: unknown; default?: unknown; doc?: string }[];
}

const base = (): RecordSchema => JSON.parse(loadSchemaCatalog().standaloneSchema('CardOutcome')) as RecordSchema;

export const cardOutcomeV1 = (): string => JSON.stringify(base());

/** BACKWARD compatible: a new field with a default, so new readers can read old records. */
export const cardOutcomeWithDefaultedField = (): string => {
  const schema = base();
  schema.fields.push({ name: 'channel', type: ['null', 'string'], default: null, doc: 'Where the report came from.' });
  return JSON.stringify(schema);
};

/** Not BACKWARD compatible: a new required field that old records do not have. */
export const cardOutcomeWithRequiredField = (): string => {
  const schema = base();
  schema.fields.push({ name: 'issuerId', type: 'string', doc: 'Issuer that reported.' });
  return JSON.stringify(schema);
};
