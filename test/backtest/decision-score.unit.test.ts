/**
 * The decision figures a fraud team compares with published models: AUC ROC, average precision
 * and card precision top-k, over the test window only.
 */
import { describe, expect, it } from 'vitest';
import { scoreDecisions, type ScoredAuthorisation } from '../../services/backtest/decision-score.ts';

const DAY = 86_400_000;
const at = (eventId: string, cardToken: string, day: number, score: number): ScoredAuthorisation => ({ eventId, cardToken, eventTime: day * DAY + 1000, score });
const everything = { from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY };

describe('decision scoring', () => {
  it('gives AUC 1 and average precision 1 when every fraud scores above every genuine authorisation, less when not', () => {
    const perfect = [at('f1', 'c1', 0, 0.9), at('f2', 'c2', 0, 0.8), at('g1', 'c3', 0, 0.2), at('g2', 'c4', 0, 0.1)];
    expect(scoreDecisions(perfect, new Set(['f1', 'f2']), everything, 1)).toMatchObject({ aucRoc: 1, averagePrecision: 1, fraudulent: 2 });
    // Ranked f1, g1, f2, g2: AUC = 3 of 4 pairs; AP = (1/1 + 2/3) / 2.
    const mixed = [at('f1', 'c1', 0, 0.9), at('g1', 'c3', 0, 0.8), at('f2', 'c2', 0, 0.7), at('g2', 'c4', 0, 0.1)];
    const score = scoreDecisions(mixed, new Set(['f1', 'f2']), everything, 1);
    expect(score.aucRoc).toBeCloseTo(0.75, 10);
    expect(score.averagePrecision).toBeCloseTo((1 + 2 / 3) / 2, 10);
  });

  it('counts tied scores as half a pair, and a run of ties as one step of the precision curve', () => {
    const tied = [at('f1', 'c1', 0, 0.5), at('g1', 'c2', 0, 0.5)];
    const score = scoreDecisions(tied, new Set(['f1']), everything, 1);
    expect(score.aucRoc).toBe(0.5);
    expect(score.averagePrecision).toBe(0.5);
  });

  it('ranks cards per day by their highest score, and drops a card found on one day from the later days', () => {
    const scored = [
      // day 0: c1 (fraud) tops, c2 second
      at('d0-c1', 'c1', 0, 0.9), at('d0-c2', 'c2', 0, 0.5), at('d0-c2b', 'c2', 0, 0.1),
      // day 1: c1 again tops but is dropped (found on day 0); c2 second with fraud; c3 genuine
      at('d1-c1', 'c1', 1, 0.95), at('d1-c2', 'c2', 1, 0.6), at('d1-c3', 'c3', 1, 0.7),
    ];
    const fraud = new Set(['d0-c1', 'd1-c1', 'd1-c2']);
    // k = 1: day 0 → c1 (hit); day 1 → c3 (c1 dropped; miss). Mean 0.5.
    expect(scoreDecisions(scored, fraud, everything, 1)).toMatchObject({ days: 2, cardPrecisionTopK: 0.5 });
    // k = 2: day 0 → c1 hit, c2 miss (1/2); day 1 → c3 miss, c2 hit (1/2).
    expect(scoreDecisions(scored, fraud, everything, 2).cardPrecisionTopK).toBe(0.5);
    // A perfect score finds c1 on day 0 (1 of k=2) and c2 on day 1 (1 of 2): the ceiling is 0.5 too; at k = 1 it is 1.
    expect(scoreDecisions(scored, fraud, everything, 2).cardPrecisionTopKCeiling).toBe(0.5);
    expect(scoreDecisions(scored, fraud, everything, 1).cardPrecisionTopKCeiling).toBe(1);
  });

  it('scores only the authorisations of the test window', () => {
    const scored = [at('early', 'c1', 0, 0.9), at('late', 'c2', 5, 0.1), at('late-g', 'c3', 5, 0.5)];
    const score = scoreDecisions(scored, new Set(['early', 'late']), { from: 5 * DAY, to: 6 * DAY }, 100);
    expect(score).toMatchObject({ authorisations: 2, fraudulent: 1, aucRoc: 0, days: 1 });
  });
});
