/**
 * How good the decisions' scores are, against a stream's confirmed fraud, in the figures the
 * card-fraud literature reports (so a score can sit beside published models):
 * - AUC ROC — the chance that a fraudulent authorisation scores above a genuine one (ties half);
 * - average precision — the area under the precision–recall curve, authorisations taken by score;
 * - card precision top-k — what a fraud team investigating k cards a day finds: each day, every
 *   card's highest score of the day ranks it; of the k top cards, the share with fraud that day;
 *   averaged over the days. A card found on one day drops out of the later days' lists (it is
 *   blocked), as in the published protocol.
 * Only authorisations whose event time falls in the test window count. Pure: it takes the scored
 * authorisations and the fraudulent event ids.
 */
import { DAY_MS } from '../core/geo.ts';

export interface ScoredAuthorisation {
  readonly eventId: string;
  readonly cardToken: string;
  readonly eventTime: number;
  readonly score: number;
}

export interface DecisionScore {
  readonly authorisations: number;
  readonly fraudulent: number;
  readonly aucRoc: number | null;
  readonly averagePrecision: number | null;
  readonly topK: number;
  readonly days: number;
  readonly cardPrecisionTopK: number | null;
  /** What a perfect score would give: days with fewer than k compromised cards cap it below 1. */
  readonly cardPrecisionTopKCeiling: number | null;
}

export interface TestWindow {
  readonly from: number;
  readonly to: number;
}

export function scoreDecisions(scored: readonly ScoredAuthorisation[], fraudulent: ReadonlySet<string>, window: TestWindow, topK: number): DecisionScore {
  const tested = scored.filter((s) => s.eventTime >= window.from && s.eventTime < window.to);
  const labels = tested.map((s) => fraudulent.has(s.eventId));
  const positives = labels.filter(Boolean).length;
  const { days, precision } = cardPrecisionTopK(tested, labels, topK);
  const oracle = tested.map((s, i) => ({ ...s, score: labels[i] ? 1 : 0 }));
  return {
    authorisations: tested.length,
    fraudulent: positives,
    aucRoc: positives === 0 || positives === tested.length ? null : aucRoc(tested, labels, positives),
    averagePrecision: positives === 0 ? null : averagePrecision(tested, labels, positives),
    topK,
    days,
    cardPrecisionTopK: precision,
    cardPrecisionTopKCeiling: cardPrecisionTopK(oracle, labels, topK).precision,
  };
}

/** Indices by score, highest first; equal scores in a fixed order (by event id) so the figures are reproducible. */
function byScore(tested: readonly ScoredAuthorisation[]): number[] {
  return tested.map((_, i) => i).sort((x, y) => tested[y]!.score - tested[x]!.score || (tested[x]!.eventId < tested[y]!.eventId ? -1 : 1));
}

/** Mann–Whitney: the mean rank of the fraudulent ones, tied scores sharing their mean rank. */
function aucRoc(tested: readonly ScoredAuthorisation[], labels: readonly boolean[], positives: number): number {
  const order = byScore(tested).reverse();
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && tested[order[j + 1]!]!.score === tested[order[i]!]!.score) j++;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]!]) rankSum += meanRank;
    i = j + 1;
  }
  const negatives = tested.length - positives;
  return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
}

/** Precision at each fraudulent authorisation's rank, averaged; a run of equal scores counts as one step. */
function averagePrecision(tested: readonly ScoredAuthorisation[], labels: readonly boolean[], positives: number): number {
  const order = byScore(tested);
  let found = 0;
  let sum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    let inRun = 0;
    while (j < order.length && tested[order[j]!]!.score === tested[order[i]!]!.score) {
      if (labels[order[j]!]) inRun++;
      j++;
    }
    found += inRun;
    sum += inRun * (found / j);
    i = j;
  }
  return sum / positives;
}

function cardPrecisionTopK(tested: readonly ScoredAuthorisation[], labels: readonly boolean[], k: number): { days: number; precision: number | null } {
  // day → card → [highest score, any fraud that day]
  const byDay = new Map<number, Map<string, { score: number; fraud: boolean }>>();
  tested.forEach((s, i) => {
    const day = Math.floor(s.eventTime / DAY_MS);
    let cards = byDay.get(day);
    if (cards === undefined) byDay.set(day, (cards = new Map()));
    const card = cards.get(s.cardToken);
    if (card === undefined) cards.set(s.cardToken, { score: s.score, fraud: labels[i]! });
    else {
      card.score = Math.max(card.score, s.score);
      card.fraud ||= labels[i]!;
    }
  });
  const found = new Set<string>();
  const precisions: number[] = [];
  for (const day of [...byDay.keys()].sort((x, y) => x - y)) {
    const ranked = [...byDay.get(day)!].filter(([token]) => !found.has(token))
      .sort(([ta, a], [tb, b]) => b.score - a.score || (ta < tb ? -1 : 1)).slice(0, k);
    let hits = 0;
    for (const [token, card] of ranked) {
      if (!card.fraud) continue;
      hits++;
      found.add(token);
    }
    precisions.push(hits / k);
  }
  return { days: precisions.length, precision: precisions.length === 0 ? null : precisions.reduce((a, b) => a + b, 0) / precisions.length };
}
