/**
 * What a card's own history says about one of its authorisations, at that authorisation: how far
 * its amount is above the card's usual amount, how fast the card is being spent, and whether
 * fraud was confirmed on it or an alert raised. Computed by the card stage (which holds the card)
 * and carried with the authorisation to the terminal stage, which adds the terminal's side and
 * decides (decide.ts).
 *
 * State per card: the running mean and spread of its purchases' log-amounts (three numbers, the
 * last `cardMemory` purchases weighing most), its authorisation times and amounts are read from
 * the card stage's bounded history, and the times of its last confirmed fraud and last alert.
 */
import { DAY_MS } from '../../core/geo.ts';
import { APPROVED, type EnrichedAuthorisation } from '../../core/records.ts';
import { learn, type LogAmountStatistics } from '../kernel/statistics.ts';
import type { PurchaseHabit } from '../card-behaviour/card-behaviour.ts';

/** A card's amounts fade over this many purchases: habits change. */
const cardMemory = 100;

export interface CardAssessment {
  /** Purchases learned before this authorisation. */
  readonly purchases: number;
  /** The card's usual amount (geometric mean of its purchases), minor units. */
  readonly usualAmountMinor: number;
  /** Spreads (standard deviations of log-amount) this amount is above the usual one; 0 below `decisionMinPurchases`. */
  readonly amountSpreads: number;
  /** This amount over the usual one; 1 below `decisionMinPurchases`. */
  readonly amountRatio: number;
  /** Spreads above the card's habit for this kind of purchase (card-behaviour's profile); 0 when it is not a purchase or the kind is unknown. */
  readonly habitSpreads: number;
  /** The card's usual amount for this kind of purchase, minor units; 0 when unknown. */
  readonly habitUsualMinor: number;
  /** Card-behaviour's burst score with this purchase (a card alert is raised at `cardProfileBurstScore`). */
  readonly burstScore: number;
  /** The card's authorisations in the 24 hours before this one. */
  readonly last24Hours: number;
  /** Its authorisations per day over the 30 days before this one (over the days it was known, when fewer). */
  readonly usualPerDay: number;
  /** When fraud on the card was last confirmed (an outcome reported), if ever. */
  readonly fraudReportedAt: number | null;
  /** When an alert on the card was last raised (this authorisation's included), and by which detector. */
  readonly alertedAt: number | null;
  readonly alertDetector: string | null;
}

export interface CardSpending {
  readonly amounts: LogAmountStatistics;
  fraudReportedAt: number | null;
  alertedAt: number | null;
  alertDetector: string | null;
}

export const initialCardSpending = (): CardSpending => ({ amounts: { n: 0, mean: 0, variance: 0 }, fraudReportedAt: null, alertedAt: null, alertDetector: null });

/** One earlier authorisation of the card, as its history keeps it. */
export interface PastAuthorisation {
  readonly time: number;
}

export interface CardAssessmentSettings {
  readonly decisionMinPurchases: number;
  readonly decisionMinSpread: number;
}

/**
 * Assesses `e` against the card's spending so far, its `history` (oldest first, not yet holding
 * `e`) and what card-behaviour's profile said of it (`habit`), then learns its amount when it is an
 * approved purchase.
 */
export function assessCard(spending: CardSpending, history: readonly PastAuthorisation[], habit: PurchaseHabit | undefined, e: EnrichedAuthorisation, t: CardAssessmentSettings): CardAssessment {
  const a = e.authorisation;
  const s = spending.amounts;
  const x = Math.log(Math.max(a.amountMinor, 1));
  const known = s.n >= t.decisionMinPurchases;
  const spread = Math.max(Math.sqrt(s.variance), t.decisionMinSpread);
  const { last24Hours, usualPerDay } = pace(history, a.eventTime);
  const assessment: CardAssessment = {
    purchases: s.n,
    usualAmountMinor: s.n === 0 ? 0 : Math.round(Math.exp(s.mean)),
    amountSpreads: known ? (x - s.mean) / spread : 0,
    amountRatio: known ? Math.exp(x - s.mean) : 1,
    habitSpreads: habit?.spreads ?? 0,
    habitUsualMinor: habit?.usualMinor ?? 0,
    burstScore: habit?.burstScore ?? 0,
    last24Hours,
    usualPerDay,
    fraudReportedAt: spending.fraudReportedAt,
    alertedAt: spending.alertedAt,
    alertDetector: spending.alertDetector,
  };
  if (a.transactionType === 'PURCHASE' && a.responseCode === APPROVED && a.amountMinor > 0) learn(s, x, cardMemory);
  return assessment;
}

function pace(history: readonly PastAuthorisation[], now: number): { last24Hours: number; usualPerDay: number } {
  let last24Hours = 0;
  let last30Days = 0;
  let oldest = now;
  for (let i = history.length - 1; i >= 0; i--) {
    const time = history[i]!.time;
    if (time <= now - 30 * DAY_MS) break;
    last30Days++;
    oldest = time;
    if (time > now - DAY_MS) last24Hours++;
  }
  // Over the days the card was seen, at least one: a card's first busy day is not its habit yet.
  const days = Math.max(1, (now - oldest) / DAY_MS);
  return { last24Hours, usualPerDay: last30Days / days };
}
