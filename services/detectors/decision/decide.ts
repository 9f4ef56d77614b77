/**
 * The decision on one authorisation: a risk score from the evidence known at its event time, the
 * reasons that raised it, and approve / review / decline by the acquirer's thresholds.
 *
 * The score is the logistic of the model's base log-odds plus each piece of evidence times its
 * weight (evidence.ts, online-model.ts); the reasons are the pieces that added to it, largest
 * first, each with the log-odds it added and its numbers. Every input is event-time state: the
 * same stream gives the same decisions.
 */
import type { Decision, DecisionKind, DecisionReason, EnrichedAuthorisation } from '../../core/records.ts';
import { round } from '../kernel/alert.ts';
import type { Thresholds } from '../thresholds.ts';
import type { CardAssessment } from './card-assessment.ts';
import { evidence, evidenceOf } from './evidence.ts';
import { baseLogOdds, contributions, decided, type OnlineModel } from './online-model.ts';
import type { TerminalAssessment } from './terminal-risk.ts';

export const DECISION_MODEL_VERSION = 'decision-1.0.0';

/** Review and decline thresholds on the score, for one acquirer. */
export interface DecisionPolicy {
  readonly review: number;
  readonly decline: number;
}

/** The policy of each acquirer that has its own; the others take the thresholds' defaults. */
export type DecisionPolicies = Readonly<Record<string, DecisionPolicy>>;

/** A piece adding less than this is not named as a reason. */
const minReasonPoints = 0.01;

/** Decides on `e` and hands its evidence to the model, which learns from it once it is mature. */
export function decide(e: EnrichedAuthorisation, card: CardAssessment, terminal: TerminalAssessment, model: OnlineModel, t: Thresholds, policies: DecisionPolicies): Decision {
  const a = e.authorisation;
  const x = evidenceOf(card, terminal, e, t);
  const points = contributions(model, x);
  const reasons: DecisionReason[] = [];
  points.forEach((p, i) => {
    if (p >= minReasonPoints) reasons.push({ code: evidence[i]!.code, points: round(p), explanation: evidence[i]!.explain(card, terminal, e, t) });
  });
  reasons.sort((r, s) => s.points - r.points || (r.code < s.code ? -1 : 1));
  const base = baseLogOdds(model, t);
  const logOdds = base + points.reduce((sum, p) => sum + p, 0);
  const score = round(1 / (1 + Math.exp(-logOdds)));
  decided(model, t, a.eventId, a.eventTime, x);
  const policy = policies[a.acquirerId] ?? { review: t.decisionReviewScore, decline: t.decisionDeclineScore };
  const decision: DecisionKind = score >= policy.decline ? 'DECLINE' : score >= policy.review ? 'REVIEW' : 'APPROVE';
  return {
    eventId: a.eventId, acquirerId: a.acquirerId, cardToken: a.cardToken, terminalId: a.terminalId, merchantId: a.merchantId,
    eventTime: a.eventTime, amountMinor: a.amountMinor, currency: a.currency,
    score, decision, reasons,
    measurements: {
      amountRatio: round(card.amountRatio), amountSpreads: round(card.amountSpreads), habitSpreads: round(card.habitSpreads), burstScore: round(card.burstScore),
      cardLast24Hours: card.last24Hours, cardPurchases: card.purchases, cardUsualPerDay: round(card.usualPerDay),
      terminalAuthorisations: terminal.authorisations, terminalConfirmedFraud: terminal.confirmedFraud,
      baseLogOdds: round(base), modelLearned: model.learned, modelLearnedFraud: model.learnedFraud,
    },
    modelVersion: DECISION_MODEL_VERSION,
    decidedAt: a.eventTime,
  };
}
