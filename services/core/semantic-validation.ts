/**
 * What an authorisation must mean beyond its Avro shape, checked in one place for every way in:
 * HTTP ingest, the enricher (records produced straight to Kafka), replay and backtest. The schema
 * says a field is a long or a string; these rules say which longs and strings make sense to a
 * card scheme, so that nonsense (a negative purchase, a 1 MB id, a year-2100 event that would push
 * the detectors' event time forward) is refused at the door with the field named.
 */
import type { AuthorisationEvent, FieldError } from './records.ts';

/** Identifiers: non-empty, printable, at most this many characters. */
export const maxIdLength = 128;

const isoCurrencies = new Set(Intl.supportedValuesOf('currency'));
// C0 and C1 control characters, DEL included.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;

/** Types that move money to the merchant: their amount must be positive (a balance inquiry may be 0). */
const positiveAmountTypes = new Set<AuthorisationEvent['transactionType']>(['PURCHASE', 'CASH_ADVANCE', 'PRE_AUTH', 'COMPLETION', 'REFUND', 'REVERSAL']);

export interface SemanticContext {
  /**
   * Wall-clock time for live ingest: an event more than `maxAheadMs` after it is refused (a
   * client clock gone wrong would otherwise move event time for everyone). Absent for replay and
   * backtest, where any past or future time is the recording's own.
   */
  readonly now?: number;
  readonly maxAheadMs?: number;
}

function identifier(errors: FieldError[], path: string, value: string): void {
  if (value.length === 0) errors.push({ path, message: 'must not be empty' });
  else if (value.length > maxIdLength) errors.push({ path, message: `must be at most ${maxIdLength} characters, got ${value.length}` });
  else if (controlCharacter.test(value)) errors.push({ path, message: 'must not contain control characters' });
}

/** The semantic problems of an authorisation that already fits its schema (empty when it makes sense). */
export function authorisationErrors(a: AuthorisationEvent, context: SemanticContext = {}): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ['eventId', 'acquirerId', 'cardToken', 'merchantId', 'terminalId'] as const) identifier(errors, field, a[field]);
  if (a.amountMinor < 0 || (a.amountMinor === 0 && positiveAmountTypes.has(a.transactionType))) {
    errors.push({ path: 'amountMinor', message: `must be ${positiveAmountTypes.has(a.transactionType) ? 'positive' : 'zero or more'} for a ${a.transactionType}, got ${a.amountMinor}` });
  }
  if (!isoCurrencies.has(a.currency)) errors.push({ path: 'currency', message: `must be an ISO 4217 code such as EUR, got ${JSON.stringify(a.currency.slice(0, 8))}` });
  if (a.eventTime <= 0) errors.push({ path: 'eventTime', message: `must be after 1970-01-01, got ${a.eventTime}` });
  else if (context.now !== undefined && a.eventTime > context.now + (context.maxAheadMs ?? 0)) {
    errors.push({ path: 'eventTime', message: `is ${Math.round((a.eventTime - context.now) / 60_000)} minutes in the future; at most ${Math.round((context.maxAheadMs ?? 0) / 60_000)} are allowed` });
  }
  if (a.latitude !== null && !(a.latitude >= -90 && a.latitude <= 90)) errors.push({ path: 'latitude', message: `must be within -90..90, got ${a.latitude}` });
  if (a.longitude !== null && !(a.longitude >= -180 && a.longitude <= 180)) errors.push({ path: 'longitude', message: `must be within -180..180, got ${a.longitude}` });
  return errors;
}
