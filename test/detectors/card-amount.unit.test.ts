import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/core/config/config.ts';
import { keyPartitioner } from '../../services/core/transport/key-partition.ts';
import { spec, type SpecRecord } from './specification.ts';
import { DAY, HOUR, T0, later, outcome, purchase, registry } from './world.ts';

const detector = 'card-amount';
const shardOf = keyPartitioner(loadConfig({}).partitions);
/** Card tokens in the same card shard as `tok-target`: what its shard's outcomes taught applies to it. */
const neighbours = (count: number): string[] => {
  const tokens: string[] = [];
  for (let i = 0; tokens.length < count; i++) if (shardOf(`tok-n${i}`) === shardOf('tok-target')) tokens.push(`tok-n${i}`);
  return tokens;
};

/** `count` daily purchases of about 25.00 (23.00–27.00): a card with steady bills. */
const steady = (card: string, count: number, from = 0): SpecRecord[] =>
  Array.from({ length: count }, (_, i) => purchase({ card, at: T0 + (from + i) * DAY, amountMinor: 2300 + (i % 5) * 100 }));

/**
 * Twenty cards of the shard that each paid `amountMinor` once after twelve steady days; the first
 * `confirmed` of them had that purchase confirmed as fraud three days later.
 */
function shardHistory(amountMinor: number, confirmed: number): SpecRecord[] {
  return neighbours(20).flatMap((card, i) => {
    const odd = purchase({ card, at: T0 + 12 * DAY + i * HOUR, amountMinor });
    return [...steady(card, 12), odd, ...(i < confirmed ? [outcome({ card, at: T0 + 15 * DAY, disputed: [odd.record.eventId] })] : [])];
  });
}

// A small prior weight, so that twenty labelled purchases are enough to move the learned share.
const settings = { cardAmountPriorPurchases: 2 };

describe('card amount', () => {
  it('AMOUNT_FAR_ABOVE_CARD_USUAL: one purchase of 400.00 on a card that pays 25.00, where such purchases were confirmed fraud', () => {
    const far = purchase({ card: 'tok-target', at: T0 + 50 * DAY, amountMinor: 40_000 });
    const [alert] = spec(settings).given(...registry(), ...shardHistory(50_000, 20), ...steady('tok-target', 15, 30)).when(far)
      .then({ detector, subjectId: 'tok-target', reasonCodes: ['AMOUNT_FAR_ABOVE_CARD_USUAL'] });
    expect(alert!.evidenceEventIds).toEqual([far.record.eventId]);
    expect(alert!.measurements).toMatchObject({ farPurchases: 1, farConfirmed: 20, farKnown: 20, purchasesLearned: 15 });
    expect(alert!.explanation).toMatch(/made a purchase far from what it usually pays \(25\.00 EUR ± 1\.41 EUR over 15 purchases\): 400\.00 EUR on 2026-11-24 10:00; it is over 3 times.*20 of 20 purchases that far above their card's usual whose outcomes are known were confirmed fraud.*a 91% chance/);
  });

  it('near miss: the same purchase where such purchases turned out genuine (card holders buy televisions)', () => {
    spec(settings).given(...registry(), ...shardHistory(50_000, 0), ...steady('tok-target', 15, 30))
      .when(purchase({ card: 'tok-target', at: T0 + 50 * DAY, amountMinor: 40_000 })).thenNothingFrom(detector);
  });

  it('near miss: before the shard\'s outcomes are 30 days old, nothing is known and one far purchase raises nothing', () => {
    spec(settings).given(...registry(), ...shardHistory(50_000, 20), ...steady('tok-target', 15, 20))
      .when(purchase({ card: 'tok-target', at: T0 + 36 * DAY, amountMinor: 40_000 })).thenNothingFrom(detector);
  });

  it('REPEATED_UNUSUAL_AMOUNTS_FOR_CARD: 60.00 once a day for four days, where half of such purchases were fraud (low and slow)', () => {
    const daily = [0, 1, 2, 3].map((d) => purchase({ card: 'tok-target', at: T0 + (50 + d) * DAY + 2 * HOUR, amountMinor: 6000 }));
    const [alert] = spec(settings).given(...registry(), ...shardHistory(6000, 10), ...steady('tok-target', 15, 30)).when(...daily)
      .then({ detector, subjectId: 'tok-target', reasonCodes: ['REPEATED_UNUSUAL_AMOUNTS_FOR_CARD'] });
    expect(alert!.evidenceEventIds).toEqual(daily.map((p) => p.record.eventId));
    expect(alert!.measurements).toMatchObject({ unusualPurchases: 4, farPurchases: 0, days: 4, unusualConfirmed: 10, unusualKnown: 20 });
  });

  it('near miss: three such days are not enough, and the fourth unusual purchase two weeks later finds the first ones learned as habit', () => {
    const spaced = [0, 1, 2, 17].map((d) => purchase({ card: 'tok-target', at: T0 + (50 + d) * DAY + 2 * HOUR, amountMinor: 6000 }));
    spec(settings).given(...registry(), ...shardHistory(6000, 10), ...steady('tok-target', 15, 30)).when(...spaced, later(T0 + 70 * DAY))
      .thenNothingFrom(detector);
  });

  it('a dispute reported after the label matured does not count as fraud', () => {
    const late = neighbours(20).flatMap((card, i) => {
      const odd = purchase({ card, at: T0 + 12 * DAY + i * HOUR, amountMinor: 50_000 });
      return [...steady(card, 12), odd, outcome({ card, at: T0 + 45 * DAY, disputed: [odd.record.eventId] })];
    });
    spec(settings).given(...registry(), ...late, ...steady('tok-target', 15, 30))
      .when(purchase({ card: 'tok-target', at: T0 + 50 * DAY, amountMinor: 40_000 })).thenNothingFrom(detector);
  });
});
