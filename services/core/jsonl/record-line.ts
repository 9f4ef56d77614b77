/**
 * One JSON Lines record: `{"type": "<kind>", ...fields in the record's JSON form}`. Parsing
 * validates against the Avro schema and reports what is wrong field by field, so a bad line can be
 * kept with its reason rather than dropped.
 */
import type { SchemaCatalog } from '../codec/schema-catalog.ts';
import { fromJsonForm, toJsonForm } from '../codec/json-form.ts';
import type { AuthorisationEvent, CardOutcome, FieldError, MerchantProfile, TerminalProfile } from '../records.ts';
import { isRecordKind, recordKinds } from './record-kinds.ts';

export type ParsedRecord =
  | { readonly ok: true; readonly kind: 'authorisation'; readonly record: AuthorisationEvent }
  | { readonly ok: true; readonly kind: 'merchant'; readonly record: MerchantProfile }
  | { readonly ok: true; readonly kind: 'terminal'; readonly record: TerminalProfile }
  | { readonly ok: true; readonly kind: 'outcome'; readonly record: CardOutcome }
  | { readonly ok: false; readonly kind: string | undefined; readonly message: string; readonly fieldErrors: FieldError[] };

export function parseRecordLine(catalog: SchemaCatalog, line: string): ParsedRecord {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, kind: undefined, message: `not JSON: ${(error as Error).message}`, fieldErrors: [] };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, kind: undefined, message: 'a line must hold one JSON object', fieldErrors: [] };
  }
  const { type, ...fields } = json as Record<string, unknown>;
  if (!isRecordKind(type)) {
    return {
      ok: false, kind: typeof type === 'string' ? type : undefined,
      message: `"type" must be one of ${Object.keys(recordKinds).join(', ')}`, fieldErrors: [{ path: 'type', message: `got ${JSON.stringify(type)}` }],
    };
  }
  const parsed = fromJsonForm(catalog.type(recordKinds[type].recordName), fields);
  if (!parsed.ok) {
    return { ok: false, kind: type, message: `not a valid ${recordKinds[type].recordName}: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, fieldErrors: parsed.errors };
  }
  return { ok: true, kind: type, record: parsed.value } as ParsedRecord;
}

export function recordLine(kind: string, record: unknown): string {
  return toJsonForm({ type: kind, ...(record as Record<string, unknown>) });
}
