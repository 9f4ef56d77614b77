/**
 * The decision on every authorisation, end to end through the engine (card stage → terminal
 * stage): one per accepted authorisation, made from what was known at its event time only, with
 * reasons that carry their numbers, the acquirer's own thresholds, and the same bytes every run.
 */
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../services/core/records.ts';
import { toJsonForm } from '../../../services/core/codec/json-form.ts';
import type { DecisionPolicies } from '../../../services/detectors/decision/decide.ts';
import { defaultThresholds, type Thresholds } from '../../../services/detectors/thresholds.ts';
import { ReplayPipeline } from '../../../services/replay/replay-pipeline.ts';
import { defaultGeneratorOptions, generateStream } from '../../../services/generator/stream.ts';
import type { SpecRecord } from '../specification.ts';
import { DAY, HOUR, T0, later, outcome, purchase, registry, tills } from '../world.ts';

function decisionsOf(records: readonly SpecRecord[], policies: DecisionPolicies = {}, thresholds: Thresholds = defaultThresholds): Decision[] {
  const decisions: Decision[] = [];
  const pipeline = new ReplayPipeline(thresholds, 3, () => undefined, (d) => decisions.push(d), policies);
  for (const r of [...registry(), ...records]) pipeline.feed(r);
  pipeline.finish();
  return decisions;
}

/** Ten ordinary purchases of about 25.00, a day apart, on one card. */
const habit = (card: string) => Array.from({ length: 10 }, (_, i) => purchase({ card, at: T0 + i * DAY, amountMinor: 2400 + 25 * i }));

describe('a decision on every authorisation', () => {
  it('is made once per accepted authorisation, resends included only once', () => {
    const first = purchase({ card: 'tok-a', at: T0 });
    const records = [...habit('tok-b'), first, { ...first }, later(T0 + 20 * DAY)];
    const decisions = decisionsOf(records);
    expect(decisions.map((d) => d.eventId).sort()).toEqual([...new Set(records.filter((r) => r.kind === 'authorisation').map((r) => r.record.eventId))].sort());
  });

  it('names a purchase far above the card\'s own usual amount, with the numbers, and scores it above the card\'s ordinary ones', () => {
    const big = purchase({ card: 'tok-a', at: T0 + 11 * DAY, amountMinor: 60_000 });
    const decisions = decisionsOf([...habit('tok-a'), big, later(T0 + 12 * DAY)]);
    const decided = decisions.find((d) => d.eventId === big.record.eventId)!;
    const ordinary = decisions.filter((d) => d.cardToken === 'tok-a' && d.eventId !== big.record.eventId);
    expect(decided.score).toBeGreaterThan(Math.max(...ordinary.map((d) => d.score)));
    expect(decided.decision).not.toBe('APPROVE');
    const reason = decided.reasons.find((r) => r.code === 'AMOUNT_TIMES_CARD_USUAL')!;
    expect(reason.explanation).toMatch(/^600\.00 EUR is 2\d\.?\d? times this card's usual 2[45]\.\d\d EUR\.$/);
    expect(reason.points).toBeGreaterThan(0);
    expect(decided.reasons.map((r) => r.points)).toEqual([...decided.reasons.map((r) => r.points)].sort((a, b) => b - a));
    expect(decided.measurements.cardPurchases).toBe(10);
  });

  it('uses an outcome only from its report on: the card\'s earlier decisions do not change, its later ones name the confirmed fraud', () => {
    const before = purchase({ card: 'tok-a', at: T0 + 11 * DAY });
    const after = purchase({ card: 'tok-a', at: T0 + 13 * DAY });
    const report = outcome({ card: 'tok-a', at: T0 + 12 * DAY, disputed: [before.record.eventId] });
    const withoutReport = decisionsOf([...habit('tok-a'), before, after, later(T0 + 14 * DAY)]);
    const withReport = decisionsOf([...habit('tok-a'), before, report, after, later(T0 + 14 * DAY)]);
    const of = (ds: Decision[], id: string) => ds.find((d) => d.eventId === id)!;
    expect(of(withReport, before.record.eventId)).toEqual(of(withoutReport, before.record.eventId));
    expect(of(withoutReport, after.record.eventId).reasons.map((r) => r.code)).not.toContain('CARD_FRAUD_CONFIRMED');
    expect(of(withReport, after.record.eventId).reasons.find((r) => r.code === 'CARD_FRAUD_CONFIRMED')?.explanation)
      .toBe('Fraud on this card was confirmed 1 days before this authorisation.');
  });

  it('raises other cards\' scores at a terminal once fraud there is confirmed, counting each disputed authorisation once', () => {
    const victims = ['tok-v1', 'tok-v2', 'tok-v3'].map((card, i) => purchase({ card, at: T0 + i * HOUR, terminal: tills.paris }));
    const reports = victims.flatMap((v, i) => [
      outcome({ card: v.record.cardToken, at: T0 + 2 * DAY + i * HOUR, disputed: [v.record.eventId] }),
      outcome({ card: v.record.cardToken, at: T0 + 2 * DAY + i * HOUR + 1, disputed: [v.record.eventId] }),
    ]);
    const next = purchase({ card: 'tok-next', at: T0 + 3 * DAY, terminal: tills.paris });
    const decided = decisionsOf([...victims, ...reports, next, later(T0 + 4 * DAY)]).find((d) => d.eventId === next.record.eventId)!;
    expect(decided.measurements.terminalConfirmedFraud).toBe(3);
    expect(decided.reasons.find((r) => r.code === 'TERMINAL_CONFIRMED_FRAUD')?.explanation).toMatch(/^3 of the terminal's 3 authorisations in the last 30 days were confirmed fraud so far \(100%/);
  });

  it('applies the acquirer\'s own review and decline scores, the defaults elsewhere', () => {
    const big = purchase({ card: 'tok-a', at: T0 + 11 * DAY, amountMinor: 60_000 });
    const records = [...habit('tok-a'), big, later(T0 + 12 * DAY)];
    const score = decisionsOf(records).find((d) => d.eventId === big.record.eventId)!.score;
    const strict = decisionsOf(records, { 'acq-1': { review: score / 2, decline: score } }).find((d) => d.eventId === big.record.eventId)!;
    const lenient = decisionsOf(records, { 'acq-1': { review: 1, decline: 1 } }).find((d) => d.eventId === big.record.eventId)!;
    const otherAcquirer = decisionsOf(records, { 'acq-other': { review: 1, decline: 1 } }).find((d) => d.eventId === big.record.eventId)!;
    expect([strict.decision, lenient.decision]).toEqual(['DECLINE', 'APPROVE']);
    expect(otherAcquirer.decision).toBe(decisionsOf(records).find((d) => d.eventId === big.record.eventId)!.decision);
  });

  it('are byte-identical run to run over a generated stream', () => {
    const stream = generateStream({ ...defaultGeneratorOptions, seed: 11, days: 8, cards: 800, merchants: 60 }).records;
    const records = stream.flatMap((r) => (r.type === 'malformed' ? [] : [{ ok: true, kind: r.type, record: r.record } as SpecRecord]));
    const run = () => {
      const lines: string[] = [];
      const pipeline = new ReplayPipeline(defaultThresholds, 3, () => undefined, (d) => lines.push(toJsonForm(d)));
      for (const r of records) pipeline.feed(r);
      pipeline.finish();
      return lines.join('\n');
    };
    const first = run();
    expect(first.length).toBeGreaterThan(0);
    expect(run()).toBe(first);
  });
});
