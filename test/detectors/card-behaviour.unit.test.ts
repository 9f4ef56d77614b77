import { describe, expect, it } from 'vitest';
import { spec, type SpecRecord } from './specification.ts';
import { DAY, HOUR, MIN, T0, purchase, registry, tills } from './world.ts';

const detector = 'card-behaviour';

/** Thirty days of groceries from 12.00 to 60.00 between 09:00 and 18:00 Paris time: a card with clear habits. */
const groceries = (o: { card?: string; currency?: string } = {}): SpecRecord[] => Array.from({ length: 30 }, (_, i) => {
  const p = purchase({ card: o.card ?? 'tok-alice', at: T0 + i * DAY + ((i % 10) - 2) * HOUR, amountMinor: [1200, 1800, 2500, 3400, 4500, 6000, 2200][i % 7]! });
  if (o.currency !== undefined) p.record.currency = o.currency;
  return p;
});

/** `count` purchases of `amountMinor`, `gap` apart, starting `start` after the history. */
const spree = (count: number, amountMinor: number, gap: number, start = 31 * DAY, terminal = tills.paris): SpecRecord[] =>
  Array.from({ length: count }, (_, i) => purchase({ at: T0 + start + i * gap, amountMinor, terminal }));

describe('card behaviour', () => {
  it('UNUSUAL_SPENDING_BURST: four purchases of 400.00 in one afternoon on a card that buys groceries for 30.00', () => {
    const [alert] = spec().given(...registry(), ...groceries()).when(...spree(4, 40_000, HOUR))
      .then({ detector, subjectId: 'tok-alice', reasonCodes: ['UNUSUAL_SPENDING_BURST', 'AMOUNT_ABOVE_CARD_HABIT'] });
    expect(alert!.evidenceEventIds).toHaveLength(4);
    expect(alert!.measurements.unusualPurchases).toBe(4);
    expect(alert!.measurements.usualAmountMinor).toBeGreaterThan(2000);
    expect(alert!.measurements.usualAmountMinor).toBeLessThan(3500);
    expect(alert!.explanation).toMatch(/4 purchases within 3 h far from its habit \(4 above.*400\.00 EUR at 11h \(usual \d+\.\d\d EUR\)/);
  });

  it('near miss: three purchases of 400.00 in one afternoon (a new sofa, a present, a dinner)', () => {
    spec().given(...registry(), ...groceries()).when(...spree(3, 40_000, HOUR)).thenNothingFrom(detector);
  });

  it('near miss: four purchases of 400.00, one a day (spread over days, not a burst)', () => {
    spec().given(...registry(), ...groceries()).when(...spree(4, 40_000, DAY + HOUR)).thenNothingFrom(detector);
  });

  it('UNUSUAL_HOUR_FOR_CARD: three unusual amounts at 03:00, an hour this card never uses, are enough', () => {
    const [alert] = spec().given(...registry(), ...groceries()).when(...spree(3, 40_000, 20 * MIN, 30 * DAY + 16 * HOUR))
      .then({ detector, reasonCodes: ['UNUSUAL_HOUR_FOR_CARD'] });
    expect(alert!.measurements.atRareHours).toBe(3);
    expect(alert!.explanation).toContain('3 at hours it rarely uses');
  });

  // A neighbourhood of 700 cards shopping by day for a month: enough for every card partition to
  // know when people buy. A new card (six purchases over three days) is judged against it.
  // Every third day they also fill up at the pump, for 30.00 to 70.00.
  const neighbourhood = (): SpecRecord[] => Array.from({ length: 700 * 30 }, (_, i) => {
    const [card, day] = [i % 700, Math.floor(i / 700)];
    const atPump = (card + day) % 3 === 0;
    return purchase({ card: `tok-n${card}`, at: T0 + day * DAY + ((i % 9) - 2) * HOUR + (i % 60) * MIN,
      amountMinor: atPump ? 3000 + (i % 9) * 500 : 1500 + (i % 13) * 300, terminal: atPump ? tills.fuelPump : tills.paris });
  });
  const newCard = (): SpecRecord[] => Array.from({ length: 6 }, (_, i) => purchase({ card: 'tok-new', at: T0 + 27 * DAY + i * 12 * HOUR, amountMinor: 3000 }));
  const newCardSpree = (localHour: number): SpecRecord[] => Array.from({ length: 3 }, (_, i) =>
    // Paris is UTC+1 on these dates: T0 is 11:00 there.
    purchase({ card: 'tok-new', at: T0 + 31 * DAY + (localHour - 11) * HOUR + i * 20 * MIN, amountMinor: 40_000 }));

  it('UNUSUAL_HOUR_FOR_CARD on a card with six purchases: at 03:00, when the population hardly buys, three unusual amounts are enough', () => {
    const alerts = spec().given(...registry(), ...neighbourhood(), ...newCard()).when(...newCardSpree(3)).alerts.filter((a) => a.subjectId === 'tok-new');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.reasonCodes).toContain('UNUSUAL_HOUR_FOR_CARD');
    expect(alerts[0]!.measurements.atRareHours).toBe(3);
  });

  it('near miss: the same three purchases at 15:00, when the population buys, are not enough', () => {
    const alerts = spec().given(...registry(), ...neighbourhood(), ...newCard()).when(...newCardSpree(15)).alerts.filter((a) => a.subjectId === 'tok-new');
    expect(alerts).toEqual([]);
  });

  // Four fill-ups of 200.00 in a day: four times what the neighbourhood pays at the pump.
  const fourFillUps = (card: string): SpecRecord[] => Array.from({ length: 4 }, (_, i) =>
    purchase({ card, at: T0 + 31 * DAY + i * 2 * HOUR, amountMinor: 20_000, terminal: tills.fuelPump }));
  const groceriesAt = (card: string, amountMinor: number): SpecRecord[] => Array.from({ length: 20 }, (_, i) =>
    purchase({ card, at: T0 + (8 + i) * DAY + ((i % 5) - 1) * HOUR, amountMinor: amountMinor + (i % 5) * amountMinor / 10 }));

  it('raises four first fill-ups at four times the usual on a card that pays the usual at the grocer\'s', () => {
    const alerts = spec().given(...registry(), ...neighbourhood(), ...groceriesAt('tok-usual', 2500)).when(...fourFillUps('tok-usual')).alerts;
    expect(alerts.filter((a) => a.subjectId === 'tok-usual' && a.detector === detector)).toHaveLength(1);
  });

  it('near miss: the same fill-ups on a card that pays five times the usual everywhere (its price level, not somebody else)', () => {
    const alerts = spec().given(...registry(), ...neighbourhood(), ...groceriesAt('tok-lavish', 12_500)).when(...fourFillUps('tok-lavish')).alerts;
    expect(alerts.filter((a) => a.subjectId === 'tok-lavish')).toEqual([]);
  });

  // Four fill-ups of 70.00 in an afternoon: within what the neighbourhood pays at the pump.
  const fourSmallFillUps = (card: string): SpecRecord[] => Array.from({ length: 4 }, (_, i) =>
    purchase({ card, at: T0 + 31 * DAY + i * 2 * HOUR, amountMinor: 7000, terminal: tills.fuelPump }));
  /** Forty purchases at the grocer's over twenty days, cycling through `amounts`. */
  const groceriesCycling = (card: string, amounts: readonly number[]): SpecRecord[] => Array.from({ length: 40 }, (_, i) =>
    purchase({ card, at: T0 + 8 * DAY + i * 12 * HOUR + ((i % 5) - 1) * HOUR, amountMinor: amounts[i % amounts.length]! }));

  it('raises fill-ups at six times its habit on a card that pays a quarter of the usual everywhere, steadily (judged at its own level)', () => {
    const alerts = spec().given(...registry(), ...neighbourhood(), ...groceriesCycling('tok-thrifty', [700, 800, 900, 980]))
      .when(...fourSmallFillUps('tok-thrifty')).alerts.filter((a) => a.subjectId === 'tok-thrifty');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.reasonCodes).toContain('AMOUNT_ABOVE_CARD_HABIT');
    expect(alerts[0]!.measurements.usualAmountMinor).toBeLessThan(3000);
  });

  it('near miss: the same fill-ups on a card that pays as little on average, but sometimes a lot (its low level does not hold everywhere)', () => {
    const alerts = spec().given(...registry(), ...neighbourhood(), ...groceriesCycling('tok-uneven', [200, 3000, 400, 2500, 600]))
      .when(...fourSmallFillUps('tok-uneven')).alerts;
    expect(alerts.filter((a) => a.subjectId === 'tok-uneven')).toEqual([]);
  });

  it('AMOUNT_BELOW_CARD_HABIT: a card tested with 1.00 four times at a shop where it spends 30.00', () => {
    spec().given(...registry(), ...groceries()).when(...spree(4, 100, 10 * MIN))
      .then({ detector, reasonCodes: ['AMOUNT_BELOW_CARD_HABIT'] });
  });

  it('near miss: four small purchases of 15.00 (half the habit is ordinary)', () => {
    spec().given(...registry(), ...groceries()).when(...spree(4, 1500, 10 * MIN)).thenNothingFrom(detector);
  });

  it('near miss: a card with no history, in a stream with no population yet, is not judged', () => {
    spec().given(...registry()).when(...spree(6, 400_000, 10 * MIN, 0)).thenNothingFrom(detector);
  });

  it('does not learn the burst: a second spree a week later is still unusual and raises a second verdict', () => {
    const alerts = spec().given(...registry(), ...groceries()).when(...spree(4, 40_000, HOUR), ...spree(4, 40_000, HOUR, 39 * DAY)).alerts;
    expect(alerts.filter((a) => a.detector === detector)).toHaveLength(2);
  });

  it('one verdict per episode: eight unusual purchases in a day give one alert', () => {
    const alerts = spec().given(...registry(), ...groceries()).when(...spree(8, 40_000, HOUR)).alerts;
    expect(alerts.filter((a) => a.detector === detector)).toHaveLength(1);
  });

  it('shows money in the record\'s currency', () => {
    const [alert] = spec().given(...registry(), ...groceries({ currency: 'USD' }))
      .when(...spree(4, 40_000, HOUR).map((r) => ({ ...r, record: { ...r.record, currency: 'USD' } }) as SpecRecord))
      .then({ detector });
    expect(alert!.explanation).toContain('400.00 USD');
    expect(alert!.explanation).not.toContain('EUR');
  });
});

describe('card behaviour: how far a short history shows a card\'s price level', () => {
  // 700 cards over a month, each at its own price level (0.4 to 2.5 times the usual), at the grocer's
  // by day and online every fifth day, varying a little from one purchase to the next: levels differ
  // far more between cards than within one, so a few purchases already show a card's level.
  const levels = [0.4, 0.6, 1, 1.6, 2.5];
  const variety = [0.7, 0.85, 1, 1.2, 1.4];
  const shoppers = (): SpecRecord[] => Array.from({ length: 700 * 30 }, (_, i) => {
    const [card, day] = [i % 700, Math.floor(i / 700)];
    const online = (card + day) % 5 === 0;
    return purchase({ card: `tok-s${card}`, at: T0 + day * DAY + ((i % 9) - 2) * HOUR + (i % 60) * MIN,
      amountMinor: Math.round((online ? 4500 : 2500) * levels[card % 5]! * variety[(Math.floor(card / 5) + day) % 5]!),
      terminal: online ? tills.web : tills.paris, entryMode: online ? 'ECOM' : 'CHIP' });
  });
  /** A card that has never bought online: one grocery purchase a day for `days` days up to day 30, at `level` times the usual. */
  const homebody = (card: string, level: number, days: number): SpecRecord[] => Array.from({ length: days }, (_, i) =>
    purchase({ card, at: T0 + (30 - days + i) * DAY + (i % 4) * HOUR, amountMinor: Math.round(2500 * level * variety[i % 5]!) }));
  /** Its details spent online at night: three purchases of 54.00 (Paris is UTC+1: T0 is 11:00 there), 1.2 times what most cards pay online. */
  const spentOnline = (card: string): SpecRecord[] => Array.from({ length: 3 }, (_, i) =>
    purchase({ card, at: T0 + 31 * DAY + 12 * HOUR + i * 90 * MIN, amountMinor: 5400, terminal: tills.web, entryMode: 'ECOM' }));

  it('UNUSUAL_SPENDING_BURST: a card that pays 0.3 of the usual, with eight days behind it, spends four times its habit online at night', () => {
    const alerts = spec().given(...registry(), ...shoppers(), ...homebody('tok-thrifty', 0.3, 8)).when(...spentOnline('tok-thrifty'))
      .alerts.filter((a) => a.subjectId === 'tok-thrifty');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.reasonCodes).toContain('AMOUNT_ABOVE_CARD_HABIT');
    expect(alerts[0]!.measurements.usualAmountMinor).toBeLessThan(2500);
  });

  it('near miss: the same purchases on a card that pays the usual (1.2 times what most cards pay online is ordinary)', () => {
    const alerts = spec().given(...registry(), ...shoppers(), ...homebody('tok-usual', 1, 8)).when(...spentOnline('tok-usual')).alerts;
    expect(alerts.filter((a) => a.subjectId === 'tok-usual')).toEqual([]);
  });

  it('near miss: the same purchases on a card that pays 0.3 of the usual but was first seen three days before (its level is not trusted that far yet)', () => {
    const alerts = spec().given(...registry(), ...shoppers(), ...homebody('tok-new', 0.3, 2)).when(...spentOnline('tok-new')).alerts;
    expect(alerts.filter((a) => a.subjectId === 'tok-new')).toEqual([]);
  });
});

describe('card behaviour: moderately above habit at a rare hour', () => {
  /** Sixty purchases over thirty days, two a day between 09:00 and 18:00 Paris time. */
  const twiceADay = (): SpecRecord[] => Array.from({ length: 60 }, (_, i) =>
    purchase({ at: T0 + Math.floor(i / 2) * DAY + ((i % 10) - 2) * HOUR, amountMinor: [1200, 1800, 2500, 3400, 4500, 6000, 2200][i % 7]! }));
  /** Four purchases of 70.00 (about 1.5 spreads above this card's habit), 40 minutes apart, from `localHour` Paris time. */
  const fourAt = (localHour: number): SpecRecord[] => Array.from({ length: 4 }, (_, i) =>
    // Paris is UTC+1 on these dates: T0 is 11:00 there.
    purchase({ at: T0 + 31 * DAY + (localHour - 11) * HOUR + i * 40 * MIN, amountMinor: 7000 }));

  it('UNUSUAL_HOUR_FOR_CARD: four purchases only moderately above habit, between 02:00 and 04:00, at the card\'s usual pace', () => {
    const [alert] = spec().given(...registry(), ...twiceADay()).when(...fourAt(2))
      .then({ detector, reasonCodes: ['UNUSUAL_SPENDING_BURST', 'AMOUNT_ABOVE_CARD_HABIT', 'UNUSUAL_HOUR_FOR_CARD'] });
    expect(alert!.reasonCodes).not.toContain('VELOCITY_ABOVE_CARD_HABIT');
    expect(alert!.measurements.moderatelyAboveAtRareHours).toBe(4);
    expect(alert!.explanation).toContain('4 only moderately above habit, but at hours it rarely uses');
  });

  it('near miss: the same four purchases between 14:00 and 16:00, when the card buys', () => {
    spec().given(...registry(), ...twiceADay()).when(...fourAt(14)).thenNothingFrom(detector);
  });
});

describe('card behaviour: velocity', () => {
  /** Two purchases of 400.00 and three of 70.00 (about 1.5 spreads above this card's habit). */
  const mixed = (gap: number): SpecRecord[] => [
    ...spree(2, 40_000, gap),
    ...Array.from({ length: 3 }, (_, i) => purchase({ at: T0 + 31 * DAY + (2 + i) * gap, amountMinor: 7000 })),
  ];

  it('VELOCITY_ABOVE_CARD_HABIT: purchases only moderately above habit count while the card buys three times faster than usual', () => {
    const [alert] = spec().given(...registry(), ...groceries()).when(...mixed(HOUR))
      .then({ detector, reasonCodes: ['UNUSUAL_SPENDING_BURST', 'VELOCITY_ABOVE_CARD_HABIT'] });
    expect(alert!.measurements.moderatelyAboveWhileFast).toBe(3);
    expect(alert!.evidenceEventIds).toHaveLength(5);
  });

  it('near miss: the same purchases over five days, at the card\'s usual pace', () => {
    spec().given(...registry(), ...groceries()).when(...mixed(DAY + HOUR)).thenNothingFrom(detector);
  });
});
