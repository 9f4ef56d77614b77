/**
 * The weights of the evidence, learned online from confirmed outcomes: a logistic regression over
 * the evidence (evidence.ts), updated by one gradient step per labelled authorisation.
 *
 * Labels respect the delay. An authorisation's evidence is kept from its decision until
 * `decisionLabelMaturityDays` later (event time); by then an outcome has disputed it (fraud) or not
 * (genuine), and it is learned once, with the evidence it was decided on. Every fraudulent one is
 * learned, and a fixed share of the genuine ones (chosen by a hash of the eventId: the same in
 * every run), the score being corrected for that share. Nothing is random: the same stream gives
 * the same weights, in replay and over Kafka.
 *
 * The weights start at the settings' points and are pulled back toward them at every step
 * (`decisionPriorStrength`): a piece of evidence the labels say nothing about keeps its setting.
 * A weight never goes below zero: evidence can only raise a score, so every reason a decision
 * names added to it.
 *
 * State: the weights, and the evidence of the authorisations not yet mature (a window of them), as
 * plain data (a snapshot holds it as it is); the functions below act on it.
 */
import { DAY_MS } from '../../core/geo.ts';
import type { Thresholds } from '../thresholds.ts';
import { startingWeights } from './evidence.ts';

interface Pending {
  readonly eventId: string;
  readonly time: number;
  readonly evidence: readonly number[];
  fraud: boolean;
}

/** One model's state: plain data, so that a snapshot holds it as it is. */
export interface OnlineModel {
  readonly weights: number[];
  /** Log-odds of fraud with no evidence, on the learned sample (genuine authorisations thinned by the share). */
  bias: number;
  learned: number;
  learnedFraud: number;
  readonly start: readonly number[];
  readonly startBias: number;
  /** Decided, not yet mature, in event-time order; `head` is the first not yet learned. */
  readonly pending: Pending[];
  head: number;
  readonly byEventId: Map<string, Pending>;
}

const logit = (p: number) => Math.log(p / (1 - p));

/** FNV-1a over the event id: a stable, even split of genuine authorisations into learned and not. */
function sampled(eventId: string, share: number): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) h = Math.imul(h ^ eventId.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 0x1_0000_0000 < share;
}

const sampleShare = (t: Thresholds) => Math.min(1, Math.max(t.decisionNegativeSampleShare, 1e-6));

export function newOnlineModel(t: Thresholds): OnlineModel {
  const start = startingWeights(t);
  const startBias = logit(t.decisionPriorFraudRate) - Math.log(sampleShare(t));
  return { weights: [...start], bias: startBias, learned: 0, learnedFraud: 0, start, startBias, pending: [], head: 0, byEventId: new Map() };
}

/** Each piece's log-odds for this evidence: weight times value. */
export const contributions = (m: OnlineModel, evidence: readonly number[]): number[] => evidence.map((x, i) => m.weights[i]! * x);

/** Log-odds of fraud before any evidence, corrected back from the learned sample to every authorisation. */
export const baseLogOdds = (m: OnlineModel, t: Thresholds): number => m.bias + Math.log(sampleShare(t));

/** A decision was made at `time` on this evidence: kept until it is mature; older ones mature now. */
export function decided(m: OnlineModel, t: Thresholds, eventId: string, time: number, evidence: readonly number[]): void {
  matureUntil(m, t, time - t.decisionLabelMaturityDays * DAY_MS);
  if (m.byEventId.has(eventId)) return;
  const p: Pending = { eventId, time, evidence, fraud: false };
  m.pending.push(p);
  m.byEventId.set(eventId, p);
}

/** An outcome confirmed the authorisation as fraud (before it matured: later ones come too late to learn). */
export function confirmedFraud(m: OnlineModel, eventId: string): void {
  const p = m.byEventId.get(eventId);
  if (p !== undefined) p.fraud = true;
}

function matureUntil(m: OnlineModel, t: Thresholds, time: number): void {
  while (m.head < m.pending.length && m.pending[m.head]!.time <= time) {
    const p = m.pending[m.head++]!;
    m.byEventId.delete(p.eventId);
    if (p.fraud || sampled(p.eventId, sampleShare(t))) learn(m, t, p.evidence, p.fraud ? 1 : 0);
  }
  // Compact once the learned head is as long as what remains: amortised constant time per decision.
  if (m.head > 1024 && m.head * 2 > m.pending.length) {
    m.pending.splice(0, m.head);
    m.head = 0;
  }
}

function learn(m: OnlineModel, t: Thresholds, evidence: readonly number[], label: 0 | 1): void {
  const { decisionLearningRate: rate, decisionPriorStrength: pull } = t;
  let z = m.bias;
  for (let i = 0; i < evidence.length; i++) z += m.weights[i]! * evidence[i]!;
  const error = 1 / (1 + Math.exp(-z)) - label;
  for (let i = 0; i < evidence.length; i++) {
    m.weights[i] = Math.max(0, m.weights[i]! - rate * (error * evidence[i]! + pull * (m.weights[i]! - m.start[i]!)));
  }
  m.bias -= rate * (error + pull * (m.bias - m.startBias));
  m.learned++;
  if (label === 1) m.learnedFraud++;
}
