/**
 * The JSON form of a record: what HTTP ingest takes, what the CLI reads and writes as
 * JSON Lines. It is Avro's JSON with unions unwrapped (a nullable field is `null` or its value),
 * timestamps as epoch-millisecond numbers, enums as their symbol, and bytes as strings of code
 * points 0–255 (the Avro specification's JSON encoding of bytes).
 */
import type avro from 'avsc';
import { validateAgainst, type FieldError } from './serde.ts';

export type JsonFormResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: FieldError[] };

/** Turns the JSON form's bytes strings into Buffers, guided by the type (avsc's coerceBuffers only takes Buffer JSON). */
function bytesFromStrings(type: avro.Type, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const t = type as avro.Type & { typeName: string; fields?: { name: string; type: avro.Type }[]; itemsType?: avro.Type; valuesType?: avro.Type; types?: avro.Type[] };
  switch (t.typeName) {
    case 'bytes':
      return typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
    case 'record':
    case 'error': {
      if (typeof value !== 'object' || Array.isArray(value)) return value;
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      for (const field of t.fields ?? []) if (field.name in copy) copy[field.name] = bytesFromStrings(field.type, copy[field.name]);
      return copy;
    }
    case 'array':
      return Array.isArray(value) ? value.map((item) => bytesFromStrings(t.itemsType!, item)) : value;
    case 'map':
      return typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, bytesFromStrings(t.valuesType!, v)]))
        : value;
    case 'union:unwrapped': {
      // posguard's unions are ["null", X]: a non-null value belongs to X.
      const branch = (t.types ?? []).find((b) => b.typeName !== 'null');
      return branch === undefined ? value : bytesFromStrings(branch, value);
    }
    default:
      return value;
  }
}

export function fromJsonForm<T>(type: avro.Type, json: unknown): JsonFormResult<T> {
  try {
    return { ok: true, value: type.clone(bytesFromStrings(type, json)) as T };
  } catch {
    const errors = validateAgainst(type, json);
    return { ok: false, errors: errors.length > 0 ? errors : [{ path: '(record)', message: `not a valid ${type.name ?? 'record'}` }] };
  }
}

export function toJsonForm(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key, converted: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? raw.toString('latin1') : converted;
  });
}
