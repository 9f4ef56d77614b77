/**
 * One JSON Lines record: `{"type": "<kind>", ...fields in the record's JSON form}`. Parsing
 * validates against the Avro schema, refuses clear card numbers, then checks what the values must
 * mean (semantic-validation.ts), and
 * reports what is wrong field by field, so a bad line can be
 * kept with its reason rather than dropped.
 */
import type { SchemaCatalog } from '../codec/schema-catalog.ts';
import { fromJsonForm, toJsonForm } from '../codec/json-form.ts';
import { summariseFieldErrors, type AuthorisationEvent, type CardOutcome, type FieldError, type MerchantProfile, type TerminalProfile } from '../records.ts';
import { findClearPan, maskPansInText } from '../pan.ts';
import { recordErrors } from '../semantic-validation.ts';
import { cutText } from '../text-bounds.ts';
import { isRecordKind, recordKinds } from './record-kinds.ts';

export type ParsedRecord =
  | { readonly ok: true; readonly kind: 'authorisation'; readonly record: AuthorisationEvent; readonly unknownFields?: readonly string[] }
  | { readonly ok: true; readonly kind: 'merchant'; readonly record: MerchantProfile; readonly unknownFields?: readonly string[] }
  | { readonly ok: true; readonly kind: 'terminal'; readonly record: TerminalProfile; readonly unknownFields?: readonly string[] }
  | { readonly ok: true; readonly kind: 'outcome'; readonly record: CardOutcome; readonly unknownFields?: readonly string[] }
  | { readonly ok: false; readonly kind: string | undefined; readonly reason: LineRejection; readonly message: string; readonly fieldErrors: FieldError[] };

/** Why a line was refused: stable words, counted per reason by replay and backtest. */
export type LineRejection = 'NOT_JSON' | 'NOT_AN_OBJECT' | 'UNKNOWN_TYPE' | 'INVALID_RECORD' | 'UNKNOWN_FIELD' | 'CLEAR_PAN';

export interface ParseOptions {
  /**
   * Unknown top-level fields are an error by default: a misspelled `disputedEventIds` would
   * otherwise silently read as "no disputed events". Lenient parsing accepts the record and lists
   * the unknown fields (`unknownFields`) for the caller to count.
   */
  readonly lenient?: boolean;
}

export function parseRecordLine(catalog: SchemaCatalog, line: string, options: ParseOptions = {}): ParsedRecord {
  const parsed = parseLine(catalog, line, options);
  if (parsed.ok) return parsed;
  // A rejection quotes the line (the parser's snippet, a type, a field name): never a card number, never unbounded.
  return {
    ...parsed, message: maskPansInText(cutText(parsed.message, 1_000)),
    fieldErrors: parsed.fieldErrors.map((e) => ({ path: maskPansInText(cutText(e.path, 256)), message: maskPansInText(cutText(e.message, 256)) })),
  };
}

function parseLine(catalog: SchemaCatalog, line: string, options: ParseOptions): ParsedRecord {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, kind: undefined, reason: 'NOT_JSON', message: `not JSON: ${(error as Error).message}`, fieldErrors: [] };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, kind: undefined, reason: 'NOT_AN_OBJECT', message: 'a line must hold one JSON object', fieldErrors: [] };
  }
  const { type, ...fields } = json as Record<string, unknown>;
  if (!isRecordKind(type)) {
    return {
      ok: false, kind: typeof type === 'string' ? type : undefined, reason: 'UNKNOWN_TYPE',
      message: `"type" must be one of ${Object.keys(recordKinds).join(', ')}`, fieldErrors: [{ path: 'type', message: `got ${JSON.stringify(type)}` }],
    };
  }
  const recordType = catalog.type(recordKinds[type].recordName);
  const known = new Set((recordType as unknown as { fields: { name: string }[] }).fields.map((f) => f.name));
  const unknownFields = Object.keys(fields).filter((name) => !known.has(name));
  if (unknownFields.length > 0 && options.lenient !== true) {
    return {
      ok: false, kind: type, reason: 'UNKNOWN_FIELD',
      message: `${recordKinds[type].recordName} has no field ${unknownFields.map((f) => JSON.stringify(f)).join(', ')} (misspelled? --lenient accepts it with a warning)`,
      fieldErrors: unknownFields.map((path) => ({ path, message: 'unknown field' })),
    };
  }
  const parsed = fromJsonForm(recordType, fields);
  if (!parsed.ok) {
    return {
      ok: false, kind: type, reason: 'INVALID_RECORD',
      message: `not a valid ${recordKinds[type].recordName}: ${summariseFieldErrors(parsed.errors)}`, fieldErrors: parsed.errors,
    };
  }
  const pan = findClearPan(parsed.value);
  if (pan !== undefined) {
    return {
      ok: false, kind: type, reason: 'CLEAR_PAN',
      message: `a clear card number was found in ${pan}; a recording holds card tokens`, fieldErrors: [{ path: pan, message: 'looks like a clear card number; use the token' }],
    };
  }
  // A recording's times are its own: no window around the wall clock here.
  const meaning = recordErrors(type, parsed.value);
  if (meaning.length > 0) {
    return {
      ok: false, kind: type, reason: 'INVALID_RECORD',
      message: `not a meaningful ${recordKinds[type].recordName}: ${summariseFieldErrors(meaning)}`, fieldErrors: meaning,
    };
  }
  return { ok: true, kind: type, record: parsed.value, ...(unknownFields.length > 0 ? { unknownFields } : {}) } as ParsedRecord;
}

export function recordLine(kind: string, record: unknown): string {
  return toJsonForm({ type: kind, ...(record as Record<string, unknown>) });
}
