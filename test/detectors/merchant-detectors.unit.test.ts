import { describe, expect, it } from 'vitest';
import type { TerminalProfile } from '../../services/core/records.ts';
import { spec, type SpecRecord } from './specification.ts';
import { DAY, HOUR, T0, later, outcome, purchase, registry, tills } from './world.ts';

/** Purchases by three regulars over a week, at whole hundreds (100.00 and 200.00: tickets both businesses see). */
function roundAmountsByFewCards(terminal: TerminalProfile): SpecRecord[] {
  return Array.from({ length: 24 }, (_, i) => purchase({ card: `tok-regular-${i % 3}`, at: T0 + (i % 7) * DAY + (i % 5) * HOUR, terminal, amountMinor: [10_000, 20_000, 10_000][i % 3]! }));
}

describe('transaction laundering and cash-out', () => {
  const detector = 'laundering-cashout';

  it('ROUND_AMOUNTS and CARD_CONCENTRATION at a jeweller: the same few cards, whole hundreds', () => {
    spec().given(...registry()).when(...roundAmountsByFewCards(tills.jeweller), later(T0 + 8 * DAY))
      .then({ detector, subjectId: 'm-jeweller', reasonCodes: ['ROUND_AMOUNTS', 'CARD_CONCENTRATION'] });
  });

  it('near miss: the same pattern at a fuel station, where round amounts are normal (prepaid pumps)', () => {
    spec().given(...registry()).when(...roundAmountsByFewCards(tills.fuelPump), later(T0 + 8 * DAY)).thenNothingFrom(detector);
  });

  it('MCC_MISMATCH and CARD_NOT_PRESENT_AT_CP_TERMINAL: a grocery account taking keyed online sales', () => {
    const sales = Array.from({ length: 25 }, (_, i) => purchase({ card: `tok-shopper-${i}`, at: T0 + (i % 6) * DAY + HOUR, entryMode: 'ECOM', mcc: '5967', amountMinor: 15_000 + i }));
    const [alert] = spec().given(...registry()).when(...sales, later(T0 + 8 * DAY))
      .then({ detector, subjectId: 'm-paris', reasonCodes: ['MCC_MISMATCH', 'CARD_NOT_PRESENT_AT_CP_TERMINAL'] });
    expect(alert!.explanation).toContain('transaction laundering');
  });

  it('near miss: the same online sales through the merchant\'s VIRTUAL terminal, under its registered MCC', () => {
    const sales = Array.from({ length: 25 }, (_, i) => purchase({ card: `tok-shopper-${i}`, at: T0 + (i % 6) * DAY + HOUR, entryMode: 'ECOM', terminal: tills.web, amountMinor: 3000 + i }));
    spec().given(...registry()).when(...sales, later(T0 + 8 * DAY)).thenNothingFrom(detector);
  });

  it('CASH_OUT_PAIR: one card, four purchases of exactly 1,000.00 at one merchant in a week', () => {
    spec().given(...registry()).when(...Array.from({ length: 4 }, (_, i) => purchase({ card: 'tok-mule', at: T0 + i * DAY, terminal: tills.jeweller, amountMinor: 100_000 })))
      .then({ detector, subjectId: 'tok-mule|m-jeweller', reasonCodes: ['CASH_OUT_PAIR'] });
  });

  it('near miss: three such purchases', () => {
    spec().given(...registry()).when(...Array.from({ length: 3 }, (_, i) => purchase({ card: 'tok-mule', at: T0 + i * DAY, terminal: tills.jeweller, amountMinor: 100_000 })))
      .thenNothingFrom(detector);
  });
});

describe('skimming cluster and point of fraud', () => {
  const detector = 'skimming-cluster';
  /** A day of ordinary traffic at the fuel pump: 40 cards. */
  const traffic = Array.from({ length: 40 }, (_, i) => purchase({ card: `tok-driver-${i}`, at: T0 + i * 10 * 60_000, terminal: tills.fuelPump }));

  it('COMMON_POINT_OF_COMPROMISE: eight of the pump\'s 40 cards later confirmed as fraud', () => {
    const outcomes = Array.from({ length: 8 }, (_, i) => outcome({ card: `tok-driver-${i}`, at: T0 + (10 + i) * DAY }));
    const alerts = spec().given(...registry(), ...traffic).when(...outcomes, later(T0 + 20 * DAY))
      .then({ detector, subjectId: 't-fuel-1', reasonCodes: ['COMMON_POINT_OF_COMPROMISE'] }, { detector, subjectId: 'm-fuel' });
    // Named as soon as the cluster is significant, with the compromised visits known by then.
    const pump = alerts.find((a) => a.subjectId === 't-fuel-1')!;
    expect(pump.evidenceEventIds.length).toBeGreaterThanOrEqual(5);
    expect(pump.measurements.distinctCompromisedCards).toBe(pump.evidenceEventIds.length);
  });

  it('near miss: eight compromised cards that each shopped somewhere else', () => {
    const spread = Array.from({ length: 8 }, (_, i) => purchase({ card: `tok-spread-${i}`, at: T0 + i * 3_600_000,
      terminal: [tills.paris, tills.paris2, tills.parisEast, tills.berlin, tills.jeweller, tills.mobile, tills.fuelPump, tills.paris][i]! }));
    const outcomes = Array.from({ length: 8 }, (_, i) => outcome({ card: `tok-spread-${i}`, at: T0 + (10 + i) * DAY }));
    spec().given(...registry(), ...traffic, ...spread).when(...outcomes, later(T0 + 20 * DAY)).thenNothingFrom(detector);
  });

  it('POINT_OF_FRAUD: three cardholders dispute transactions made at the same terminal', () => {
    const visits = Array.from({ length: 3 }, (_, i) => purchase({ card: `tok-victim-${i}`, at: T0 + i * HOUR, terminal: tills.mobile }));
    const disputes = visits.map((v, i) => outcome({ card: v.record.cardToken, at: T0 + (5 + i) * DAY, kind: 'CHARGEBACK', disputed: [v.record.eventId] }));
    spec().given(...registry(), ...visits).when(...disputes, later(T0 + 10 * DAY)).then({ detector, subjectId: 't-mobile', reasonCodes: ['POINT_OF_FRAUD'] });
  });

  it('near miss: two disputes, and a complaint that is not about fraud', () => {
    const visits = Array.from({ length: 3 }, (_, i) => purchase({ card: `tok-victim-${i}`, at: T0 + i * HOUR, terminal: tills.mobile }));
    const disputes = visits.map((v, i) => outcome({ card: v.record.cardToken, at: T0 + (5 + i) * DAY, kind: i < 2 ? 'CHARGEBACK' : 'COMPLAINT', fraudRelated: i < 2, disputed: [v.record.eventId] }));
    spec().given(...registry(), ...visits).when(...disputes, later(T0 + 10 * DAY)).thenNothingFrom(detector);
  });
});
