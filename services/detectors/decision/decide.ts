/**
 * The decision on one authorisation: a risk score from the evidence known at its event time, the
 * reasons that moved it, and approve / review / decline by the acquirer's thresholds.
 *
 * The score is the prior fraud rate (`decisionPriorFraudRate`) moved by log-odds points, one term
 * per piece of evidence, each bounded and named in the reasons with its numbers:
 * - AMOUNT_ABOVE_CARD_USUAL — the amount far above this card's own usual amount (in spreads of the
 *   card's log-amounts beyond the first, and in how many times the usual it is);
 * - CARD_FRAUD_CONFIRMED — fraud on the card was confirmed by an outcome reported before, lately;
 * - CARD_ALERTED — a card alert (cloned card, unusual purchases) raised lately, this one included;
 * - CARD_SPENT_FAST — the card's last 24 hours hold several times its usual purchases a day;
 * - TERMINAL_CONFIRMED_FRAUD — the terminal's share of confirmed fraud over its recent
 *   authorisations above the prior rate (shrunk toward it while the terminal has few);
 * - TERMINAL_ALERTED — a terminal alert raised at it lately.
 * Every term is a function of event-time state only: the same stream gives the same scores.
 */
import { DAY_MS } from '../../core/geo.ts';
import type { Decision, DecisionKind, DecisionReason, EnrichedAuthorisation } from '../../core/records.ts';
import { fmt } from '../kernel/alert.ts';
import type { Thresholds } from '../thresholds.ts';
import type { CardAssessment } from './card-assessment.ts';
import type { TerminalAssessment } from './terminal-risk.ts';

export const DECISION_MODEL_VERSION = 'decision-1.0.0';

/** Review and decline thresholds on the score, for one acquirer. */
export interface DecisionPolicy {
  readonly review: number;
  readonly decline: number;
}

/** The policy of each acquirer that has its own; the others take the thresholds' defaults. */
export type DecisionPolicies = Readonly<Record<string, DecisionPolicy>>;

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const clamp = (x: number, max: number) => Math.min(Math.max(x, 0), max);

function cardReasons(c: CardAssessment, e: EnrichedAuthorisation, t: Thresholds, reasons: DecisionReason[]): void {
  const a = e.authorisation;
  if (c.purchases >= t.decisionMinPurchases && c.amountRatio > 1) {
    const points = clamp(t.decisionAmountSpreadPoints * (c.amountSpreads - 1) + t.decisionAmountRatioPoints * Math.log(c.amountRatio), t.decisionAmountMaxPoints);
    if (points > 0) {
      reasons.push({
        code: 'AMOUNT_ABOVE_CARD_USUAL', points,
        explanation: `${fmt.money(a.amountMinor, a.currency)} is ${fmt.dec(c.amountRatio)} times this card's usual ${fmt.money(c.usualAmountMinor, a.currency)} ` +
          `(${fmt.dec(c.amountSpreads)} spreads above, over ${fmt.int(c.purchases)} purchases).`,
      });
    }
  }
  if (c.fraudReportedAt !== null && a.eventTime - c.fraudReportedAt <= t.decisionCardReportedDays * DAY_MS) {
    reasons.push({
      code: 'CARD_FRAUD_CONFIRMED', points: t.decisionCardReportedPoints,
      explanation: `Fraud on this card was confirmed ${fmt.dec((a.eventTime - c.fraudReportedAt) / DAY_MS)} days before this authorisation.`,
    });
  }
  if (c.alertedAt !== null && a.eventTime - c.alertedAt <= t.decisionAlertDays * DAY_MS) {
    reasons.push({
      code: 'CARD_ALERTED', points: t.decisionCardAlertPoints,
      explanation: `A ${c.alertDetector} alert was raised on this card ${fmt.dec((a.eventTime - c.alertedAt) / DAY_MS)} days before this authorisation.`,
    });
  }
  if (c.last24Hours + 1 >= Math.max(3, t.decisionFastFactor * c.usualPerDay) && c.usualPerDay > 0) {
    reasons.push({
      code: 'CARD_SPENT_FAST', points: t.decisionFastPoints,
      explanation: `${fmt.int(c.last24Hours + 1)} authorisations on this card within 24 hours, against ${fmt.dec(c.usualPerDay)} a day usually.`,
    });
  }
}

function terminalReasons(r: TerminalAssessment, e: EnrichedAuthorisation, t: Thresholds, reasons: DecisionReason[]): void {
  const a = e.authorisation;
  if (r.confirmedFraud > 0) {
    const prior = t.decisionPriorFraudRate;
    const rate = (r.confirmedFraud + prior * t.decisionTerminalPriorAuthorisations) / (r.authorisations + t.decisionTerminalPriorAuthorisations);
    const points = clamp(Math.log(rate / prior), t.decisionTerminalMaxPoints);
    if (points > 0) {
      reasons.push({
        code: 'TERMINAL_CONFIRMED_FRAUD', points,
        explanation: `${fmt.int(r.confirmedFraud)} of the terminal's ${fmt.int(r.authorisations)} authorisations in the last ${fmt.int(t.decisionTerminalWindowDays)} days ` +
          `were confirmed fraud (${fmt.pct(r.confirmedFraud / Math.max(r.authorisations, 1))}, against ${fmt.dec(prior * 100)}% expected).`,
      });
    }
  }
  if (r.alertedAt !== null && a.eventTime - r.alertedAt <= t.decisionAlertDays * DAY_MS) {
    reasons.push({
      code: 'TERMINAL_ALERTED', points: t.decisionTerminalAlertPoints,
      explanation: `A ${r.alertDetector} alert was raised on this terminal ${fmt.dec((a.eventTime - r.alertedAt) / DAY_MS)} days before this authorisation.`,
    });
  }
}

/** Fixed precision keeps decisions byte-identical across platforms' last-bit float differences. */
const round = (x: number) => Number(x.toPrecision(6));

export function decide(e: EnrichedAuthorisation, card: CardAssessment, terminal: TerminalAssessment, t: Thresholds, policies: DecisionPolicies): Decision {
  const a = e.authorisation;
  const reasons: DecisionReason[] = [];
  cardReasons(card, e, t, reasons);
  terminalReasons(terminal, e, t, reasons);
  for (const r of reasons) r.points = round(r.points);
  reasons.sort((x, y) => y.points - x.points || (x.code < y.code ? -1 : 1));
  const score = round(sigmoid(logit(t.decisionPriorFraudRate) + reasons.reduce((sum, r) => sum + r.points, 0)));
  const policy = policies[a.acquirerId] ?? { review: t.decisionReviewScore, decline: t.decisionDeclineScore };
  const decision: DecisionKind = score >= policy.decline ? 'DECLINE' : score >= policy.review ? 'REVIEW' : 'APPROVE';
  return {
    eventId: a.eventId, acquirerId: a.acquirerId, cardToken: a.cardToken, terminalId: a.terminalId, merchantId: a.merchantId,
    eventTime: a.eventTime, amountMinor: a.amountMinor, currency: a.currency,
    score, decision, reasons,
    measurements: {
      amountRatio: round(card.amountRatio), amountSpreads: round(card.amountSpreads), cardLast24Hours: card.last24Hours,
      cardPurchases: card.purchases, cardUsualPerDay: round(card.usualPerDay),
      terminalAuthorisations: terminal.authorisations, terminalConfirmedFraud: terminal.confirmedFraud,
    },
    modelVersion: DECISION_MODEL_VERSION,
    decidedAt: a.eventTime,
  };
}
