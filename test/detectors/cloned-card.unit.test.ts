import { describe, expect, it } from 'vitest';
import { CardStage } from '../../services/detectors/card-stage.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { enrich, ProfileTables } from '../../services/enricher/enrich.ts';
import { spec } from './specification.ts';
import { DAY, HOUR, MIN, T0, outcome, purchase, registry, tills } from './world.ts';

const detector = 'cloned-card';

describe('cloned card', () => {
  it('IMPOSSIBLE_TRAVEL: in person in Paris, then Berlin (878 km) 30 minutes later', () => {
    const [alert] = spec().given(...registry(), purchase({ at: T0 }))
      .when(purchase({ at: T0 + 30 * MIN, terminal: tills.berlin }))
      .then({ detector, subjectId: 'tok-alice', reasonCodes: ['IMPOSSIBLE_TRAVEL'] });
    expect(alert!.measurements.speedKmh).toBeGreaterThan(1700);
    expect(alert!.explanation).toContain('Paris and Berlin');
    expect(alert!.evidenceEventIds).toHaveLength(2);
  });

  it('IMPOSSIBLE_TRAVEL: Paris, then Berlin 90 minutes later — slower than a jet, faster than any flight with its airports', () => {
    const [alert] = spec().given(...registry(), purchase({ at: T0 }))
      .when(purchase({ at: T0 + 90 * MIN, terminal: tills.berlin }))
      .then({ detector, subjectId: 'tok-alice', reasonCodes: ['IMPOSSIBLE_TRAVEL'] });
    expect(alert!.measurements.speedKmh).toBeLessThan(defaultThresholds.maxSpeedKmh);
    expect(alert!.measurements.fastestTripMinutes).toBeGreaterThan(140);
    expect(alert!.explanation).toContain('by air with 90 minutes of airports');
  });

  it('near miss: Paris to Berlin in three hours is a flight, not a clone', () => {
    spec().given(...registry(), purchase({ at: T0 })).when(purchase({ at: T0 + 3 * HOUR, terminal: tills.berlin })).thenNothingFrom(detector);
  });

  it('OVERLAPPING_USE: two merchants 5 km apart within 30 seconds', () => {
    spec().given(...registry(), purchase({ at: T0 }))
      .when(purchase({ at: T0 + 30_000, terminal: tills.parisEast }))
      .then({ detector, reasonCodes: ['OVERLAPPING_USE'] });
  });

  it('near miss: two tills of the same merchant within 30 seconds (a split basket)', () => {
    spec().given(...registry(), purchase({ at: T0 })).when(purchase({ at: T0 + 30_000, terminal: tills.paris2 })).thenNothingFrom(detector);
  });

  it('ATC_REPLAY: a chip counter already used comes back', () => {
    spec().given(...registry(), purchase({ at: T0, atc: 100 }), purchase({ at: T0 + DAY, atc: 101 }))
      .when(purchase({ at: T0 + 2 * DAY, atc: 100 }))
      .then({ detector, reasonCodes: ['ATC_REPLAY'] });
  });

  it('near miss: the counter moving on by two (a use the acquirer did not see)', () => {
    spec().given(...registry(), purchase({ at: T0, atc: 100 })).when(purchase({ at: T0 + DAY, atc: 102 })).thenNothingFrom(detector);
  });

  it('ATC_JUMP: the counter jumps by hundreds', () => {
    spec().given(...registry(), purchase({ at: T0, atc: 100 })).when(purchase({ at: T0 + DAY, atc: 900 })).then({ detector, reasonCodes: ['ATC_JUMP'] });
  });

  it('CHIP_CARD_READ_WITHOUT_CHIP: stripe reads of a chip card at two merchants within a week', () => {
    spec().given(...registry(), purchase({ at: T0, entryMode: 'FALLBACK' }))
      .when(purchase({ at: T0 + 2 * DAY, entryMode: 'MAGSTRIPE', terminal: tills.parisEast }))
      .then({ detector, reasonCodes: ['CHIP_CARD_READ_WITHOUT_CHIP'] });
  });

  it('near miss: one merchant with a dirty chip reader twice, or a card without a chip', () => {
    spec().given(...registry(), purchase({ at: T0, entryMode: 'FALLBACK' })).when(purchase({ at: T0 + DAY, entryMode: 'FALLBACK', terminal: tills.paris2 })).thenNothingFrom(detector);
    spec().given(...registry(), purchase({ at: T0, entryMode: 'MAGSTRIPE', chipCard: false }))
      .when(purchase({ at: T0 + DAY, entryMode: 'MAGSTRIPE', chipCard: false, terminal: tills.parisEast })).thenNothingFrom(detector);
  });

  it('AFTER_LOST_STOLEN: in-person use after the card was reported stolen', () => {
    spec().given(...registry(), outcome({ card: 'tok-alice', at: T0, kind: 'LOST_STOLEN' }))
      .when(purchase({ at: T0 + HOUR, entryMode: 'CONTACTLESS' }))
      .then({ detector, reasonCodes: ['AFTER_LOST_STOLEN'] });
  });

  it('near miss: a use before the report, even if the report arrives later', () => {
    spec().given(...registry(), purchase({ at: T0 - HOUR, entryMode: 'CONTACTLESS' })).when(outcome({ card: 'tok-alice', at: T0, kind: 'LOST_STOLEN' })).thenNothingFrom(detector);
  });

  it('puts inputs that arrive out of order within the allowed lateness back in event-time order', () => {
    const inOrder = spec().given(...registry()).when(purchase({ at: T0 }), purchase({ at: T0 + 5 * MIN, terminal: tills.berlin })).alerts;
    const swapped = spec().given(...registry()).when(purchase({ at: T0 + 5 * MIN, terminal: tills.berlin }), purchase({ at: T0 })).alerts;
    expect(swapped.map((a) => [a.alertId, a.windowStart])).toEqual(inOrder.map((a) => [a.alertId, a.windowStart]));
    expect(inOrder.some((a) => a.reasonCodes.includes('IMPOSSIBLE_TRAVEL'))).toBe(true);
  });

  it('gives one verdict per card and episode, not one per event', () => {
    const alerts = spec().given(...registry())
      .when(purchase({ at: T0 }), purchase({ at: T0 + 30 * MIN, terminal: tills.berlin }), purchase({ at: T0 + 60 * MIN, terminal: tills.paris }),
        purchase({ at: T0 + 90 * MIN, terminal: tills.berlin })).alerts;
    expect(alerts.filter((a) => a.detector === detector)).toHaveLength(1);
  });

  it('evicts the state of cards that stayed quiet past the lookback', () => {
    const tables = new ProfileTables();
    for (const r of registry()) if (r.kind === 'terminal') tables.putTerminal(r.record); else if (r.kind === 'merchant') tables.putMerchant(r.record);
    const stage = new CardStage(defaultThresholds, () => 0);
    const out = { verdicts: [], compromises: [], disputes: [], confirmedFraud: [] };
    stage.authorisation(enrich(tables, purchase({ card: 'tok-quiet', at: T0 }).record), out);
    const later = T0 + (defaultThresholds.compromiseLookbackDays + 31) * DAY;
    for (let i = 0; i < 50_000; i++) stage.authorisation(enrich(tables, purchase({ card: `tok-${i % 10}`, at: later + i }).record), out);
    expect(stage.size).toBe(10);
  });
});
