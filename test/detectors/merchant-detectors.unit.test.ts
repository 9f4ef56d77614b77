import { describe, expect, it } from 'vitest';
import type { TerminalProfile } from '../../services/core/records.ts';
import { spec, type SpecRecord } from './specification.ts';
import { DAY, HOUR, MIN, T0, later, outcome, purchase, registry, tills } from './world.ts';

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

  /** A busy week at the jeweller (120 ordinary purchases by 120 cards), and `mules` cards each making a purchase of 1,000.00 on four days. */
  function busyWeekWithMules(mules: number): SpecRecord[] {
    const ordinary = Array.from({ length: 120 }, (_, i) => purchase({ card: `tok-customer-${i}`, at: T0 + (1 + (i % 7)) * DAY + (i % 9) * HOUR, terminal: tills.jeweller, amountMinor: 12_000 + 37 * i }));
    const cashOut = Array.from({ length: mules * 4 }, (_, i) => purchase({ card: `tok-mule-${i % mules}`, at: T0 + (1 + Math.floor(i / mules)) * DAY + 30 * MIN + i * MIN, terminal: tills.jeweller, amountMinor: 100_000 }));
    return [...ordinary, ...cashOut];
  }

  it('CASH_OUT_RING: three cards each cashing out at a busy jeweller, where no share stands out', () => {
    const added = spec().given(...registry()).when(...busyWeekWithMules(3), later(T0 + 8 * DAY))
      .then({ detector, subjectId: 'm-jeweller', reasonCodes: ['CASH_OUT_RING'] });
    const verdict = added.find((a) => a.subjectId === 'm-jeweller')!;
    expect(verdict.reasonCodes).toEqual(['CASH_OUT_RING']);
    expect(verdict.measurements.CASH_OUT_RING).toBe(3);
  });

  it('near miss: two such cards are two cash-out pairs, not a ring', () => {
    const added = spec().given(...registry()).when(...busyWeekWithMules(2), later(T0 + 8 * DAY))
      .then({ detector, subjectId: 'tok-mule-0|m-jeweller', reasonCodes: ['CASH_OUT_PAIR'] });
    expect(added.filter((a) => a.subjectId === 'm-jeweller')).toEqual([]);
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

  /**
   * A street: 40 neighbours buy groceries at the Paris shop on about half of the days and fuel at
   * the pump on about one day in five; 60 passers-by come to each now and then. A skimmer sits on
   * the pump on days 10–14: every card that paid there then is cloned, used in Berlin on day 20,
   * and reported over the next days. Seeded, so the street is the same on every run.
   */
  function street(): { history: SpecRecord[]; outcomes: SpecRecord[] } {
    let seed = 7;
    const chance = (p: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648 < p;
    };
    const history: SpecRecord[] = [];
    const victims: string[] = [];
    const visit = (card: string, day: number, hour: number, terminal: typeof tills.paris) => {
      history.push(purchase({ card, at: T0 + day * DAY + hour * HOUR + history.length * 1000, terminal }));
      if (terminal === tills.fuelPump && day >= 10 && day < 15 && !victims.includes(card)) victims.push(card);
    };
    for (let day = 0; day < 20; day++) {
      for (let i = 0; i < 40; i++) {
        if (chance(0.5)) visit(`tok-neighbour-${i}`, day, 1, tills.paris);
        if (chance(0.2)) visit(`tok-neighbour-${i}`, day, 3, tills.fuelPump);
      }
      for (let i = 0; i < 60; i++) {
        if (chance(0.05)) visit(`tok-passer-${i}`, day, 5, tills.paris);
        if (chance(0.05)) visit(`tok-passer-${i}`, day, 7, tills.fuelPump);
      }
    }
    const outcomes: SpecRecord[] = victims.map((card, i) => {
      const fraud = purchase({ card, at: T0 + 20 * DAY + i * MIN, terminal: tills.berlin, entryMode: 'FALLBACK' });
      history.push(fraud);
      return outcome({ card, at: T0 + 22 * DAY + i * HOUR, disputed: [fraud.record.eventId] });
    });
    return { history, outcomes };
  }

  it('near miss: the grocery next to a skimmed pump, where the same neighbours shop, is not a point of compromise; the pump is', () => {
    const { history, outcomes } = street();
    const alerts = spec().given(...registry(), ...history).when(...outcomes, later(T0 + 30 * DAY))
      .then({ detector, subjectId: 't-fuel-1', reasonCodes: ['COMMON_POINT_OF_COMPROMISE'] });
    const named = alerts.filter((a) => a.reasonCodes.includes('COMMON_POINT_OF_COMPROMISE'));
    expect(named.map((a) => a.subjectId).sort()).toEqual(['m-fuel', 't-fuel-1']);
    expect(named[0]!.measurements.referenceVisits).toBeGreaterThan(100);
  });

  it('near miss: a pop-up café beside a skimmed pump, whose visitors are reported one by one after the pump is named, is not a point of compromise', () => {
    // 24 drivers fill up at the pump on days 10–14, while a skimmer sits on it, and half of them have
    // a coffee at the café next door the same day, among 36 other guests; the café is open those
    // days only. The pump also sells fuel on every other day. The clones are reported one every 8
    // hours: the pump is named with the first few, and the café's later victims are the pump's.
    const history: SpecRecord[] = [];
    for (let day = 0; day < 20; day++) {
      for (let i = 0; i < 20; i++) history.push(purchase({ card: `tok-regular-${i}`, at: T0 + day * DAY + i * 10 * MIN, terminal: tills.fuelPump }));
    }
    const victims = Array.from({ length: 24 }, (_, i) => `tok-driver-${i}`);
    victims.forEach((card, i) => {
      const at = T0 + (10 + (i % 5)) * DAY + 8 * HOUR + i * MIN;
      history.push(purchase({ card, at, terminal: tills.fuelPump }));
      if (i % 2 === 0) history.push(purchase({ card, at: at + 30 * MIN, terminal: tills.parisEast }));
    });
    for (let i = 0; i < 36; i++) history.push(purchase({ card: `tok-guest-${i}`, at: T0 + (10 + (i % 5)) * DAY + 9 * HOUR + i * MIN, terminal: tills.parisEast }));
    const outcomes = victims.map((card, i) => {
      const fraud = purchase({ card, at: T0 + 20 * DAY + i * MIN, terminal: tills.berlin, entryMode: 'FALLBACK' });
      history.push(fraud);
      return outcome({ card, at: T0 + 22 * DAY + i * 8 * HOUR, disputed: [fraud.record.eventId] });
    });
    const alerts = spec().given(...registry(), ...history).when(...outcomes, later(T0 + 40 * DAY))
      .then({ detector, subjectId: 't-fuel-1', reasonCodes: ['COMMON_POINT_OF_COMPROMISE'] });
    expect(alerts.filter((a) => a.reasonCodes.includes('COMMON_POINT_OF_COMPROMISE')).map((a) => a.subjectId).sort()).toEqual(['m-fuel', 't-fuel-1']);
  });

  it('COMMON_POINT_OF_COMPROMISE at both tills of one shop, a skimmer on each: the second till\'s victims are not all put down to the first', () => {
    // 60 regulars shop at the Paris grocery every other day, at either till. A skimmer sits on till 1
    // on days 10–13 and another on till 2 on days 14–17; every card paying there then is cloned and
    // reported, one every 4 hours. Seeded, so the shop is the same on every run.
    let seed = 11;
    const pick = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return Math.floor((seed / 2_147_483_648) * n);
    };
    const history: SpecRecord[] = [];
    const victims = new Set<string>();
    for (let day = 0; day < 24; day++) {
      for (let i = 0; i < 60; i++) {
        if ((day + i) % 2 !== 0) continue;
        const till = pick(2) === 0 ? tills.paris : tills.paris2;
        const card = `tok-regular-${i}`;
        history.push(purchase({ card, at: T0 + day * DAY + 8 * HOUR + i * MIN, terminal: till }));
        if ((till === tills.paris && day >= 10 && day < 14) || (till === tills.paris2 && day >= 14 && day < 18)) victims.add(card);
      }
    }
    const outcomes = [...victims].map((card, i) => {
      const fraud = purchase({ card, at: T0 + 24 * DAY + i * MIN, terminal: tills.berlin, entryMode: 'FALLBACK' });
      history.push(fraud);
      return outcome({ card, at: T0 + 25 * DAY + i * 4 * HOUR, disputed: [fraud.record.eventId] });
    });
    spec().given(...registry(), ...history).when(...outcomes, later(T0 + 50 * DAY))
      .then({ detector, subjectId: 't-paris-1', reasonCodes: ['COMMON_POINT_OF_COMPROMISE'] }, { detector, subjectId: 't-paris-2', reasonCodes: ['COMMON_POINT_OF_COMPROMISE'] });
  });

  it('COMMON_POINT_OF_COMPROMISE at a grocery whose regulars were skimmed at the pump before: their visits on its other days are the pump\'s, not the grocery\'s usual rate', () => {
    // The pump (skimmer on days 10–14): 20 drivers fill up every day; 30 others and 6 neighbours
    // fill up once while the skimmer is there. The 6 neighbours also shop at the grocery every third
    // day. The grocery (skimmer on days 20–22): 10 passers-by a day, each once, 20 a day while the
    // skimmer is there, of whom 8 are defrauded. The pump's victims are defrauded on day 24 and
    // reported first, so the pump is named; the grocery's 8 come after. Without the pump's victims
    // left out of the grocery's other days (42 of its 312 card visits there), its usual rate is
    // about one visit in twelve, and 7 unexplained victims among its 66 card visits on days 20–22
    // are nothing unusual; with them left out, 0.7 are expected.
    const history: ReturnType<typeof purchase>[] = [];
    for (let day = 0; day < 30; day++) {
      for (let i = 0; i < 20; i++) history.push(purchase({ card: `tok-regular-${i}`, at: T0 + day * DAY + i * 10 * MIN, terminal: tills.fuelPump }));
      for (let i = 0; i < 6; i++) if ((day + i) % 3 === 0) history.push(purchase({ card: `tok-neighbour-${i}`, at: T0 + day * DAY + 5 * HOUR + i * MIN, terminal: tills.paris }));
      const passers = day >= 20 && day < 23 ? 20 : 10;
      for (let i = 0; i < passers; i++) history.push(purchase({ card: `tok-passer-${day}-${i}`, at: T0 + day * DAY + 6 * HOUR + i * MIN, terminal: tills.paris }));
    }
    const pumpVictims = [...Array.from({ length: 30 }, (_, i) => `tok-driver-${i}`), ...Array.from({ length: 6 }, (_, i) => `tok-neighbour-${i}`)];
    pumpVictims.forEach((card, i) => history.push(purchase({ card, at: T0 + (10 + (i % 5)) * DAY + 3 * HOUR + i * MIN, terminal: tills.fuelPump })));
    const groceryVictims = Array.from({ length: 8 }, (_, i) => `tok-passer-${20 + (i % 3)}-${i}`);
    const defrauded = (cards: string[], fraudDay: number, reportFrom: number, hoursApart: number) => cards.map((card, i) => {
      const fraud = purchase({ card, at: T0 + fraudDay * DAY + i * MIN, terminal: tills.berlin, entryMode: 'FALLBACK' });
      history.push(fraud);
      return outcome({ card, at: T0 + reportFrom * DAY + i * hoursApart * HOUR, disputed: [fraud.record.eventId] });
    });
    const outcomes = [...defrauded(pumpVictims, 24, 25, 1), ...defrauded(groceryVictims, 26, 28, 3)];
    history.sort((a, b) => a.record.eventTime - b.record.eventTime);
    const alerts = spec().given(...registry(), ...history).when(...outcomes, later(T0 + 40 * DAY))
      .then({ detector, subjectId: 't-fuel-1', reasonCodes: ['COMMON_POINT_OF_COMPROMISE'] }, { detector, subjectId: 't-paris-1', reasonCodes: ['COMMON_POINT_OF_COMPROMISE'] });
    const grocery = alerts.find((a) => a.subjectId === 't-paris-1')!;
    expect(grocery.measurements.referenceExplainedVisits).toBeGreaterThan(0);
    expect(grocery.explanation).toContain('by cards a point named elsewhere explains, left out');
  });

  it('near miss: eight of the pump\'s cards defrauded online only (phished, not skimmed), or reported lost', () => {
    const online = Array.from({ length: 8 }, (_, i) => purchase({ card: `tok-driver-${i}`, at: T0 + (9 + i) * DAY, terminal: tills.web, entryMode: 'ECOM' }));
    const phished = online.map((o, i) => outcome({ card: o.record.cardToken, at: T0 + (10 + i) * DAY, disputed: [o.record.eventId] }));
    spec().given(...registry(), ...traffic, ...online).when(...phished, later(T0 + 20 * DAY)).thenNothingFrom(detector);
    const lost = Array.from({ length: 8 }, (_, i) => outcome({ card: `tok-driver-${i}`, at: T0 + (10 + i) * DAY, kind: 'LOST_STOLEN' }));
    spec().given(...registry(), ...traffic).when(...lost, later(T0 + 20 * DAY)).thenNothingFrom(detector);
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

  /**
   * Four days at the jeweller: 27 customers, and `frauds` purchases by other cards on the first,
   * second, fourth and third of those days, each disputed a week or so later.
   */
  function disputedAmongCustomers(frauds: number): { given: SpecRecord[]; when: SpecRecord[] } {
    const customers = Array.from({ length: 27 }, (_, i) => purchase({ card: `tok-customer-${i}`, at: T0 + (i % 4) * DAY + (i % 8) * HOUR, terminal: tills.jeweller }));
    const stolen = Array.from({ length: frauds }, (_, i) => purchase({ card: `tok-stolen-${i}`, at: T0 + [0, 1, 3, 2][i]! * DAY + 3 * HOUR, terminal: tills.jeweller }));
    const disputes = stolen.map((f, i) => outcome({ card: f.record.cardToken, at: T0 + (10 + i) * DAY, kind: 'CHARGEBACK', disputed: [f.record.eventId] }));
    const visits = [...customers, ...stolen].sort((a, b) => a.record.eventTime - b.record.eventTime);
    return { given: [...registry(), ...visits], when: [...disputes, later(T0 + 20 * DAY)] };
  }

  it('near miss: three cardholders dispute purchases among a shop\'s 30 card visits over four days (chance, with seven such periods in the window); a fourth raises it', () => {
    // Three of 30 against 0.002 each: p = 3e-5 for these four days, but 2e-4 once the other
    // periods of four days the 30-day window holds are counted; the fourth card makes it 4e-6.
    const three = disputedAmongCustomers(3);
    spec().given(...three.given).when(...three.when).thenNothingFrom(detector);
    const four = disputedAmongCustomers(4);
    spec().given(...four.given).when(...four.when).then({ detector, subjectId: 't-jeweller', reasonCodes: ['POINT_OF_FRAUD'] });
  });

  it('near miss: two disputes, and a complaint that is not about fraud', () => {
    const visits = Array.from({ length: 3 }, (_, i) => purchase({ card: `tok-victim-${i}`, at: T0 + i * HOUR, terminal: tills.mobile }));
    const disputes = visits.map((v, i) => outcome({ card: v.record.cardToken, at: T0 + (5 + i) * DAY, kind: i < 2 ? 'CHARGEBACK' : 'COMPLAINT', fraudRelated: i < 2, disputed: [v.record.eventId] }));
    spec().given(...registry(), ...visits).when(...disputes, later(T0 + 10 * DAY)).thenNothingFrom(detector);
  });
});
