/**
 * The evidence a decision weighs: one number per piece, each zero when the piece is absent and
 * growing with its strength, each with its reason code and its explanation in an analyst's words.
 * The online model (online-model.ts) weighs them; the reasons of a decision are the pieces that
 * added to its score.
 *
 * Each number is capped: the model learns by gradient steps, and one extreme value (a purchase a
 * thousand times the usual) must not move a weight by more than a strong one does.
 */
import { DAY_MS } from '../../core/geo.ts';
import type { EnrichedAuthorisation } from '../../core/records.ts';
import { fmt } from '../kernel/alert.ts';
import type { Thresholds } from '../thresholds.ts';
import type { CardAssessment } from './card-assessment.ts';
import type { TerminalAssessment } from './terminal-risk.ts';

/** Spreads, and natural-log units, beyond which more of the same adds nothing. */
const maxSpreads = 10;
const maxLogUnits = 5;

const clamp = (x: number, max: number) => Math.min(Math.max(x, 0), max);

interface Piece {
  readonly code: string;
  /** The threshold holding its starting weight. */
  readonly startingPoints: (t: Thresholds) => number;
  readonly value: (c: CardAssessment, r: TerminalAssessment, e: EnrichedAuthorisation, t: Thresholds) => number;
  readonly explain: (c: CardAssessment, r: TerminalAssessment, e: EnrichedAuthorisation, t: Thresholds) => string;
}

const within = (time: number | null, now: number, days: number) => time !== null && now - time <= days * DAY_MS;
const daysBefore = (time: number | null, now: number) => fmt.dec((now - (time ?? now)) / DAY_MS);
const terminalRate = (r: TerminalAssessment, t: Thresholds) =>
  (r.confirmedFraud + t.decisionPriorFraudRate * t.decisionTerminalPriorAuthorisations) / (r.authorisations + t.decisionTerminalPriorAuthorisations);

/** The pieces of evidence, in the order of the model's weights. */
export const evidence: readonly Piece[] = [
  {
    code: 'AMOUNT_ABOVE_CARD_USUAL',
    startingPoints: (t) => t.decisionAmountSpreadPoints,
    value: (c, _r, _e, t) => (c.purchases >= t.decisionMinPurchases ? clamp(c.amountSpreads - 1, maxSpreads) : 0),
    explain: (c, _r, e) => `${fmt.money(e.authorisation.amountMinor, e.authorisation.currency)} is ${fmt.dec(c.amountSpreads)} spreads above this card's usual ` +
      `${fmt.money(c.usualAmountMinor, e.authorisation.currency)} (over ${fmt.int(c.purchases)} purchases).`,
  },
  {
    code: 'AMOUNT_TIMES_CARD_USUAL',
    startingPoints: (t) => t.decisionAmountRatioPoints,
    value: (c, _r, _e, t) => (c.purchases >= t.decisionMinPurchases ? clamp(Math.log(c.amountRatio), maxLogUnits) : 0),
    explain: (c, _r, e) => `${fmt.money(e.authorisation.amountMinor, e.authorisation.currency)} is ${fmt.dec(c.amountRatio)} times this card's usual ` +
      `${fmt.money(c.usualAmountMinor, e.authorisation.currency)}.`,
  },
  {
    code: 'AMOUNT_ABOVE_HABIT_FOR_KIND',
    startingPoints: (t) => t.decisionHabitSpreadPoints,
    value: (c) => clamp(c.habitSpreads - 1, maxSpreads),
    explain: (c, _r, e) => `${fmt.dec(c.habitSpreads)} spreads above what this card (or, while it is new, any card) usually pays for this kind of purchase ` +
      `(${fmt.money(c.habitUsualMinor, e.authorisation.currency)}).`,
  },
  {
    code: 'UNUSUAL_PURCHASES_IN_BURST',
    startingPoints: (t) => t.decisionBurstPoints,
    value: (c) => clamp(c.burstScore, maxSpreads),
    explain: (c, _r, _e, t) => `Unusual purchases on this card within ${fmt.int(t.cardProfileBurstHours)} hours add up to ${fmt.dec(c.burstScore)} ` +
      `(a card alert is raised at ${t.cardProfileBurstScore}).`,
  },
  {
    code: 'CARD_FRAUD_CONFIRMED',
    startingPoints: (t) => t.decisionCardReportedPoints,
    value: (c, _r, e, t) => (within(c.fraudReportedAt, e.authorisation.eventTime, t.decisionCardReportedDays) ? 1 : 0),
    explain: (c, _r, e) => `Fraud on this card was confirmed ${daysBefore(c.fraudReportedAt, e.authorisation.eventTime)} days before this authorisation.`,
  },
  {
    code: 'CARD_ALERTED',
    startingPoints: (t) => t.decisionCardAlertPoints,
    value: (c, _r, e, t) => (within(c.alertedAt, e.authorisation.eventTime, t.decisionAlertDays) ? 1 : 0),
    explain: (c, _r, e) => `A ${c.alertDetector} alert was raised on this card ${daysBefore(c.alertedAt, e.authorisation.eventTime)} days before this authorisation.`,
  },
  {
    code: 'CARD_SPENT_FAST',
    startingPoints: (t) => t.decisionFastPoints,
    value: (c, _r, _e, t) => (c.usualPerDay > 0 && c.last24Hours + 1 >= Math.max(3, t.decisionFastFactor * c.usualPerDay) ? 1 : 0),
    explain: (c) => `${fmt.int(c.last24Hours + 1)} authorisations on this card within 24 hours, against ${fmt.dec(c.usualPerDay)} a day usually.`,
  },
  {
    code: 'TERMINAL_CONFIRMED_FRAUD',
    startingPoints: (t) => t.decisionTerminalRatePoints,
    value: (_c, r, _e, t) => (r.confirmedFraud > 0 ? clamp(Math.log(terminalRate(r, t) / t.decisionPriorFraudRate), maxLogUnits * 2) : 0),
    explain: (_c, r, _e, t) => `${fmt.int(r.confirmedFraud)} of the terminal's ${fmt.int(r.authorisations)} authorisations in the last ` +
      `${fmt.int(t.decisionTerminalWindowDays)} days were confirmed fraud so far (${fmt.pct(r.confirmedFraud / Math.max(r.authorisations, 1))}, ` +
      `against ${fmt.dec(t.decisionPriorFraudRate * 100)}% expected).`,
  },
  {
    code: 'TERMINAL_ALERTED',
    startingPoints: (t) => t.decisionTerminalAlertPoints,
    value: (_c, r, e, t) => (within(r.alertedAt, e.authorisation.eventTime, t.decisionAlertDays) ? 1 : 0),
    explain: (_c, r, e) => `A ${r.alertDetector} alert was raised on this terminal ${daysBefore(r.alertedAt, e.authorisation.eventTime)} days before this authorisation.`,
  },
];

/** The evidence's numbers for one authorisation, in the order of `evidence`. */
export function evidenceOf(c: CardAssessment, r: TerminalAssessment, e: EnrichedAuthorisation, t: Thresholds): number[] {
  return evidence.map((piece) => piece.value(c, r, e, t));
}

export const startingWeights = (t: Thresholds): number[] => evidence.map((piece) => piece.startingPoints(t));
