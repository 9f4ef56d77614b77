/**
 * What an authorisation must mean beyond its schema: the rules every way in applies (HTTP, the
 * enricher for Kafka producers, replay and backtest).
 */
import { describe, expect, it } from 'vitest';
import type { AuthorisationEvent } from '../../services/core/records.ts';
import { authorisationErrors } from '../../services/core/semantic-validation.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { purchase } from '../detectors/world.ts';

const DAY = 86_400_000;
const valid = purchase({ card: 'tok-semantic' }).record as AuthorisationEvent;
const paths = (a: Partial<AuthorisationEvent>, context = {}) => authorisationErrors({ ...valid, ...a }, context).map((e) => e.path);

describe('semantic validation of an authorisation', () => {
  it('passes every authorisation the generator makes', () => {
    const stream = generateStream({ ...defaultGeneratorOptions, seed: 3, days: 10, cards: 800, merchants: 60 });
    const refused = stream.records.flatMap((r) => (r.type === 'authorisation' ? authorisationErrors(r.record) : []));
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
