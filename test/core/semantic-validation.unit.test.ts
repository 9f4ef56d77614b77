/**
 * What an authorisation must mean beyond its schema: the rules every way in applies (HTTP, the
 * enricher for Kafka producers, replay and backtest).
 */
import { describe, expect, it } from 'vitest';
import type { AuthorisationEvent, CardOutcome, MerchantProfile, TerminalProfile } from '../../services/core/records.ts';
import { authorisationErrors, recordErrors } from '../../services/core/semantic-validation.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { outcome, purchase, registry } from '../detectors/world.ts';

const DAY = 86_400_000;
const valid = purchase({ card: 'tok-semantic' }).record as AuthorisationEvent;
const paths = (a: Partial<AuthorisationEvent>, context = {}) => authorisationErrors({ ...valid, ...a }, context).map((e) => e.path);

describe('semantic validation of an authorisation', () => {
  it('passes every record the generator makes (the default stream, the end-to-end test\'s)', () => {
    const stream = generateStream(defaultGeneratorOptions);
    const refused = stream.records.flatMap((r) => (r.type === 'malformed' ? [] : recordErrors(r.type, r.record).map((e) => `${r.type} ${e.path}: ${e.message}`)));
    expect(refused).toEqual([]);
  });

  it('refuses amounts that make no sense for the transaction type', () => {
    expect(paths({ amountMinor: -100 })).toEqual(['amountMinor']);
    expect(paths({ amountMinor: 0 })).toEqual(['amountMinor']);
    expect(paths({ amountMinor: 0, transactionType: 'BALANCE_INQUIRY' })).toEqual([]);
  });

  it('refuses a currency that is not an ISO 4217 code', () => {
    for (const currency of ['XXXX', 'usd', '', 'EU']) expect(paths({ currency }), currency).toEqual(['currency']);
    expect(paths({ currency: 'USD' })).toEqual([]);
  });

  it('refuses empty, oversized and control-character identifiers, naming each field', () => {
    expect(paths({ eventId: '', cardToken: '', merchantId: '', terminalId: '', acquirerId: '' })).toEqual(['eventId', 'acquirerId', 'cardToken', 'merchantId', 'terminalId']);
    expect(paths({ merchantId: 'm'.repeat(1_000_000) })).toEqual(['merchantId']);
    expect(paths({ terminalId: 't-1\u0000' })).toEqual(['terminalId']);
  });

  it('bounds every text a person reads or a device reports, and refuses a merchant category code that is not four digits', () => {
    expect(paths({ terminalFirmwareHash: 'f'.repeat(1_000_000) })).toEqual(['terminalFirmwareHash']);
    expect(paths({ mcc: '54\u000011' })).toEqual(['mcc']);
    expect(paths({ bin: '4'.repeat(200), last4: '1\u0007' })).toEqual(['bin', 'last4']);
    const merchant = registry().find((r) => r.kind === 'merchant')!.record as MerchantProfile;
    expect(recordErrors('merchant', { ...merchant, name: 'n'.repeat(1_000_000), city: 'c'.repeat(257) }).map((e) => e.path)).toEqual(['name', 'city']);
    const terminal = registry().find((r) => r.kind === 'terminal')!.record as TerminalProfile;
    expect(recordErrors('terminal', { ...terminal, firmwareHash: 'h'.repeat(129) }).map((e) => e.path)).toEqual(['firmwareHash']);
  });

  it('bounds amounts by currency and type, the transaction counter by its two bytes, and times before 2100', () => {
    expect(paths({ amountMinor: 1e15 })).toEqual(['amountMinor']);
    expect(paths({ amountMinor: 1_000_000_000, currency: 'EUR' })).toEqual([]);
    expect(paths({ amountMinor: 1_000_000_001, currency: 'EUR' })).toEqual(['amountMinor']);
    expect(paths({ amountMinor: 20_000_000, currency: 'JPY' })).toEqual(['amountMinor']);
    expect(paths({ amountMinor: 10_000_001, transactionType: 'CASH_ADVANCE', currency: 'EUR' })).toEqual(['amountMinor']);
    expect(paths({ amountMinor: 5, transactionType: 'BALANCE_INQUIRY' })).toEqual(['amountMinor']);
    for (const atc of [-1, 65_536, 1.5]) expect(paths({ atc }), String(atc)).toEqual(['atc']);
    expect(paths({ atc: 65_535 })).toEqual([]);
    expect(paths({ eventTime: 8.64e15 })).toEqual(['eventTime']);
    const merchant = registry().find((r) => r.kind === 'merchant')!.record as MerchantProfile;
    expect(recordErrors('merchant', { ...merchant, updatedAt: 8.64e15 }).map((e) => e.path)).toEqual(['updatedAt']);
    const now = Date.UTC(2026, 11, 7);
    expect(recordErrors('merchant', { ...merchant, updatedAt: now + 3_600_000 }, { now, maxAheadMs: 300_000 }).map((e) => e.path)).toEqual(['updatedAt']);
  });

  it('refuses ids that look like another: zero-width and bidi characters, and lone surrogates a store would replace', () => {
    for (const eventId of ['e-1\u200b', '\u202ee-1', 'e-\ud800', 'e-\udc00x']) expect(paths({ eventId }), JSON.stringify(eventId)).toEqual(['eventId']);
    expect(paths({ eventId: 'e-\ud83d\ude00' })).toEqual([]);
  });

  it('refuses impossible times and places', () => {
    expect(paths({ eventTime: 0 })).toEqual(['eventTime']);
    expect(paths({ eventTime: -5 })).toEqual(['eventTime']);
    expect(paths({ latitude: 999, longitude: -181 })).toEqual(['latitude', 'longitude']);
  });

  it('refuses an event from the future only when it arrives live, and says by how much', () => {
    const now = valid.eventTime;
    const ahead = { eventTime: now + 40 * DAY };
    expect(authorisationErrors({ ...valid, ...ahead }, { now, maxAheadMs: 300_000 })).toEqual([
      { path: 'eventTime', message: 'is 57600 minutes in the future; at most 5 are allowed' },
    ]);
    expect(paths({ eventTime: now + 60_000 }, { now, maxAheadMs: 300_000 })).toEqual([]);
    // A recording (replay, backtest) keeps its own times.
    expect(paths(ahead)).toEqual([]);
  });
});

describe('semantic validation of outcomes and profiles', () => {
  const merchant = registry().find((r) => r.kind === 'merchant')!.record as MerchantProfile;
  const terminal = registry().find((r) => r.kind === 'terminal')!.record as TerminalProfile;
  const report = outcome({ card: 'tok-semantic', at: DAY * 20_000 }).record as CardOutcome;

  it('refuses an outcome with empty ids, an impossible time or an unbounded list of disputes', () => {
    expect(recordErrors('outcome', { ...report, outcomeId: '', reportedAt: 0, disputedEventIds: ['e-1', ''] }).map((e) => e.path))
      .toEqual(['outcomeId', 'reportedAt', 'disputedEventIds[1]']);
    expect(recordErrors('outcome', { ...report, disputedEventIds: Array.from({ length: 1001 }, (_, i) => `e-${i}`) }).map((e) => e.path)).toEqual(['disputedEventIds']);
  });

  it('refuses a merchant whose category, country, place, time zone or opening hours make no sense', () => {
    expect(recordErrors('merchant', {
      ...merchant, mcc: '54a1', country: 'Germany', latitude: 91, utcOffsetMinutes: 900, openingHours: { opensAtMinute: 480, closesAtMinute: 1440 },
    }).map((e) => e.path)).toEqual(['mcc', 'country', 'latitude', 'utcOffsetMinutes', 'openingHours.closesAtMinute']);
  });

  it('refuses a terminal with no id or an impossible place', () => {
    expect(recordErrors('terminal', { ...terminal, terminalId: '', longitude: 200 }).map((e) => e.path)).toEqual(['terminalId', 'longitude']);
  });
});
