/**
 * What a record must mean beyond its Avro shape, checked in one place for every way in:
 * HTTP ingest, the readers of records produced straight to Kafka (record-admission.ts), replay and
 * backtest. The schema says a field is a long or a string; these rules say which longs and strings
 * make sense to a card scheme, so that nonsense (a negative purchase, a 1 MB id, a year-2100 event that would push
 * the detectors' event time forward) is refused at the door with the field named.
 */
import type { RecordKind } from './jsonl/record-kinds.ts';
import type { AuthorisationEvent, CardOutcome, FieldError, MerchantProfile, TerminalProfile } from './records.ts';

/** Identifiers: non-empty, printable, at most this many characters. */
export const maxIdLength = 128;

const isoCurrencies = new Set(Intl.supportedValuesOf('currency'));
// C0 and C1 control characters, DEL included; format characters (zero-width, bidi overrides) that
// make two different ids look the same; and lone surrogates, which a store would replace with U+FFFD
// (the id kept would not be the id answered).
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]|\p{Cf}|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;
/** Times are epoch milliseconds before 2100: a later one (8.64e15 is year 275,760) would win every comparison forever. */
export const latestTime = Date.UTC(2100, 0, 1);
/** The Application Transaction Counter is two bytes on the card. */
const maxAtc = 65_535;

/**
 * The largest amount, in major units of the currency, a transaction of a type may move: cash from an
 * ATM or a counter is bounded by what a dispenser or a branch pays out; a purchase, pre-authorisation,
 * completion, refund or reversal by the largest single card payment a terminal takes.
 */
const maxMajorUnits: Record<AuthorisationEvent['transactionType'], number> = {
  PURCHASE: 10_000_000, PRE_AUTH: 10_000_000, COMPLETION: 10_000_000, REFUND: 10_000_000, REVERSAL: 10_000_000,
  CASH_ADVANCE: 100_000, BALANCE_INQUIRY: 0, UNKNOWN: 10_000_000,
};
const minorDigits = new Map<string, number>();
/** Minor units per major unit of an ISO 4217 currency: 100 for EUR, 1 for JPY, 1000 for KWD. */
function minorPerMajor(currency: string): number {
  let digits = minorDigits.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    minorDigits.set(currency, digits);
  }
  return 10 ** digits;
}

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

/** Names and places a person reads (a trading name, a city): printable, at most this many characters. */
export const maxNameLength = 256;
/** Codes and hashes (firmware versions and hashes, response codes): printable, at most this many characters. */
export const maxCodeLength = 128;

/** A printable text of at most `max` characters (empty allowed: an optional label may be blank). */
function label(errors: FieldError[], path: string, value: string | null, max: number): void {
  if (value === null) return;
  if (value.length > max) errors.push({ path, message: `must be at most ${max} characters, got ${value.length}` });
  else if (controlCharacter.test(value)) errors.push({ path, message: 'must not contain control characters' });
}

/** The semantic problems of an authorisation that already fits its schema (empty when it makes sense). */
export function authorisationErrors(a: AuthorisationEvent, context: SemanticContext = {}): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ['eventId', 'acquirerId', 'cardToken', 'merchantId', 'terminalId'] as const) identifier(errors, field, a[field]);
  if (!/^\d{4}$/.test(a.mcc)) errors.push({ path: 'mcc', message: `must be a 4-digit merchant category code (ISO 18245), got ${JSON.stringify(a.mcc.slice(0, 8))}` });
  for (const field of ['bin', 'last4', 'responseCode', 'terminalFirmwareHash'] as const) label(errors, field, a[field], maxCodeLength);
  if (a.amountMinor < 0 || (a.amountMinor === 0 && positiveAmountTypes.has(a.transactionType))) {
    errors.push({ path: 'amountMinor', message: `must be ${positiveAmountTypes.has(a.transactionType) ? 'positive' : 'zero or more'} for a ${a.transactionType}, got ${a.amountMinor}` });
  }
  if (!isoCurrencies.has(a.currency)) errors.push({ path: 'currency', message: `must be an ISO 4217 code such as EUR, got ${JSON.stringify(a.currency.slice(0, 8))}` });
  else {
    const max = maxMajorUnits[a.transactionType] * minorPerMajor(a.currency);
    if (a.amountMinor > max) errors.push({ path: 'amountMinor', message: `must be at most ${max} (${maxMajorUnits[a.transactionType]} ${a.currency}) for a ${a.transactionType}, got ${a.amountMinor}` });
  }
  if (a.atc !== null && !(Number.isInteger(a.atc) && a.atc >= 0 && a.atc <= maxAtc)) errors.push({ path: 'atc', message: `must be a two-byte counter (0..${maxAtc}), got ${a.atc}` });
  if (a.eventTime <= 0 || a.eventTime >= latestTime) errors.push({ path: 'eventTime', message: `must be after 1970-01-01 and before 2100-01-01, got ${a.eventTime}` });
  else if (context.now !== undefined && a.eventTime > context.now + (context.maxAheadMs ?? 0)) {
    errors.push({ path: 'eventTime', message: `is ${Math.round((a.eventTime - context.now) / 60_000)} minutes in the future; at most ${Math.round((context.maxAheadMs ?? 0) / 60_000)} are allowed` });
  }
  place(errors, a.latitude, a.longitude);
  return errors;
}

function place(errors: FieldError[], latitude: number | null, longitude: number | null): void {
  if (latitude !== null && !(latitude >= -90 && latitude <= 90)) errors.push({ path: 'latitude', message: `must be within -90..90, got ${latitude}` });
  if (longitude !== null && !(longitude >= -180 && longitude <= 180)) errors.push({ path: 'longitude', message: `must be within -180..180, got ${longitude}` });
}

function after1970(errors: FieldError[], path: string, time: number): void {
  if (time <= 0 || time >= latestTime) errors.push({ path, message: `must be after 1970-01-01 and before 2100-01-01, got ${time}` });
}

/** A profile's version time: live, no later than the clock allows (a version from the future would outrank every real update). */
function versionTime(errors: FieldError[], path: string, time: number, context: SemanticContext): void {
  after1970(errors, path, time);
  if (time > 0 && context.now !== undefined && time > context.now + (context.maxAheadMs ?? 0)) {
    errors.push({ path, message: `is ${Math.round((time - context.now) / 60_000)} minutes in the future; at most ${Math.round((context.maxAheadMs ?? 0) / 60_000)} are allowed` });
  }
}

/** The semantic problems of a card outcome (a report of fraud, a chargeback, a lost card …). */
function outcomeErrors(o: CardOutcome): FieldError[] {
  const errors: FieldError[] = [];
  identifier(errors, 'outcomeId', o.outcomeId);
  identifier(errors, 'cardToken', o.cardToken);
  after1970(errors, 'reportedAt', o.reportedAt);
  if (o.disputedEventIds.length > 1000) errors.push({ path: 'disputedEventIds', message: `must name at most 1000 authorisations, got ${o.disputedEventIds.length}` });
  else o.disputedEventIds.forEach((id, i) => identifier(errors, `disputedEventIds[${i}]`, id));
  return errors;
}

/** The semantic problems of a merchant profile. */
function merchantErrors(m: MerchantProfile, context: SemanticContext): FieldError[] {
  const errors: FieldError[] = [];
  identifier(errors, 'merchantId', m.merchantId);
  identifier(errors, 'acquirerId', m.acquirerId);
  label(errors, 'name', m.name, maxNameLength);
  label(errors, 'city', m.city, maxNameLength);
  if (!/^\d{4}$/.test(m.mcc)) errors.push({ path: 'mcc', message: `must be a 4-digit merchant category code (ISO 18245), got ${JSON.stringify(m.mcc.slice(0, 8))}` });
  if (!/^[A-Z]{2}$/.test(m.country)) errors.push({ path: 'country', message: `must be an ISO 3166-1 alpha-2 code such as DE, got ${JSON.stringify(m.country.slice(0, 8))}` });
  place(errors, m.latitude, m.longitude);
  if (m.utcOffsetMinutes < -720 || m.utcOffsetMinutes > 840) errors.push({ path: 'utcOffsetMinutes', message: `must be within -720..840 (UTC-12 to UTC+14), got ${m.utcOffsetMinutes}` });
  if (m.openingHours !== null) {
    for (const field of ['opensAtMinute', 'closesAtMinute'] as const) {
      const minute = m.openingHours[field];
      if (minute < 0 || minute > 1439) errors.push({ path: `openingHours.${field}`, message: `must be a minute of the day (0..1439), got ${minute}` });
    }
  }
  after1970(errors, 'onboardedAt', m.onboardedAt);
  versionTime(errors, 'updatedAt', m.updatedAt, context);
  return errors;
}

/** The semantic problems of a terminal profile. */
function terminalErrors(t: TerminalProfile, context: SemanticContext): FieldError[] {
  const errors: FieldError[] = [];
  identifier(errors, 'terminalId', t.terminalId);
  identifier(errors, 'merchantId', t.merchantId);
  if (t.acquirerId !== null) identifier(errors, 'acquirerId', t.acquirerId);
  label(errors, 'firmwareVersion', t.firmwareVersion, maxCodeLength);
  label(errors, 'firmwareHash', t.firmwareHash, maxCodeLength);
  place(errors, t.latitude, t.longitude);
  after1970(errors, 'registeredAt', t.registeredAt);
  versionTime(errors, 'updatedAt', t.updatedAt, context);
  return errors;
}

/** The semantic problems of a record of any kind (`context` applies to authorisations' and profiles' times: see SemanticContext). */
export function recordErrors(kind: RecordKind, record: unknown, context: SemanticContext = {}): FieldError[] {
  switch (kind) {
    case 'authorisation': return authorisationErrors(record as AuthorisationEvent, context);
    case 'outcome': return outcomeErrors(record as CardOutcome);
    case 'merchant': return merchantErrors(record as MerchantProfile, context);
    case 'terminal': return terminalErrors(record as TerminalProfile, context);
  }
}
