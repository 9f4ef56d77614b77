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
 * State: the weights, and the evidence of the authorisations not yet mature (a window of them).
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

const logit = (p: number) => Math.log(p / (1 - p));

/** FNV-1a over the event id: a stable, even split of genuine authorisations into learned and not. */
function sampled(eventId: string, share: number): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < eventId.length; i++) h = Math.imul(h ^ eventId.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 0x1_0000_0000 < share;
}

export class OnlineModel {
  readonly weights: number[];
  /** Log-odds of fraud with no evidence, on the learned sample (genuine authorisations thinned by the share). */
  bias: number;
  learned = 0;
  learnedFraud = 0;
  private readonly start: readonly number[];
  private readonly startBias: number;
  /** Decided, not yet mature, in event-time order; `head` is the first not yet learned. */
  private readonly pending: Pending[] = [];
  private head = 0;
  private readonly byEventId = new Map<string, Pending>();

  constructor(private readonly t: Thresholds) {
    this.start = startingWeights(t);
    this.weights = [...this.start];
    this.startBias = logit(t.decisionPriorFraudRate) - Math.log(this.sampleShare);
    this.bias = this.startBias;
  }

  private get sampleShare(): number {
    return Math.min(1, Math.max(this.t.decisionNegativeSampleShare, 1e-6));
  }

  /** Each piece's log-odds for this evidence: weight times value. */
  contributions(evidence: readonly number[]): number[] {
    return evidence.map((x, i) => this.weights[i]! * x);
  }

  /** Log-odds of fraud before any evidence, corrected back from the learned sample to every authorisation. */
  get baseLogOdds(): number {
    return this.bias + Math.log(this.sampleShare);
  }

  /** A decision was made at `time` on this evidence: kept until it is mature; older ones mature now. */
  decided(eventId: string, time: number, evidence: readonly number[]): void {
    this.matureUntil(time - this.t.decisionLabelMaturityDays * DAY_MS);
    if (this.byEventId.has(eventId)) return;
    const p: Pending = { eventId, time, evidence, fraud: false };
    this.pending.push(p);
    this.byEventId.set(eventId, p);
  }

  /** An outcome confirmed the authorisation as fraud (before it matured: later ones come too late to learn). */
  confirmedFraud(eventId: string): void {
    const p = this.byEventId.get(eventId);
    if (p !== undefined) p.fraud = true;
  }

  private matureUntil(time: number): void {
    while (this.head < this.pending.length && this.pending[this.head]!.time <= time) {
      const p = this.pending[this.head++]!;
      this.byEventId.delete(p.eventId);
      if (p.fraud || sampled(p.eventId, this.sampleShare)) this.learn(p.evidence, p.fraud ? 1 : 0);
    }
    // Compact once the learned head is as long as what remains: amortised constant time per decision.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  private learn(evidence: readonly number[], label: 0 | 1): void {
    const { decisionLearningRate: rate, decisionPriorStrength: pull } = this.t;
    let z = this.bias;
    for (let i = 0; i < evidence.length; i++) z += this.weights[i]! * evidence[i]!;
    const error = 1 / (1 + Math.exp(-z)) - label;
    for (let i = 0; i < evidence.length; i++) {
      this.weights[i] = Math.max(0, this.weights[i]! - rate * (error * evidence[i]! + pull * (this.weights[i]! - this.start[i]!)));
    }
    this.bias -= rate * (error + pull * (this.bias - this.startBias));
    this.learned++;
    if (label === 1) this.learnedFraud++;
  }

  /** Authorisations held until they mature. */
  get size(): number {
    return this.pending.length - this.head;
  }
}
