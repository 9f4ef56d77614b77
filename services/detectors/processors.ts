/**
 * The four detector stages as processors: each holds an event-time queue and its stage's state,
 * takes inputs, and on `drain` releases what the watermark has passed, appending alerts and the
 * inputs it routes to the next stage. The detectors service runs each over its topics; the
 * in-memory engine chains them directly. Same code, two wirings.
 *
 *   card (auth.enriched.v1 + card.outcomes.v1, by card)
 *     ├─> terminal (posguard.detectors.by-terminal)
 *     └─> merchant (posguard.detectors.by-merchant) ─> arbiter (posguard.detectors.clusters)
 */
import type { Decision, FraudAlert } from '../core/records.ts';
import type { DecisionPolicies } from './decision/decide.ts';
import { CardStage, type CardStageOutput } from './card-stage.ts';
import type { StageInput } from './inputs.ts';
import { toAlert, type Verdict } from './kernel/alert.ts';
import { EventTimeQueue, type Timed } from './kernel/event-time-queue.ts';
import { MerchantStage, type MerchantStageOutput } from './merchant-stage.ts';
import { toMerchantStage, toTerminalStage, type KeyedStageInput } from './routing.ts';
import { ClusterArbiter, type ClusterCandidate } from './skimming-cluster/cluster-arbiter.ts';
import { windowLengthsTried, type CityStatistic } from './skimming-cluster/skimming-cluster.ts';
import { TerminalStage } from './terminal-stage.ts';
import type { Thresholds } from './thresholds.ts';

/** What the cluster arbiter consumes. */
export type ArbiterInput =
  | { readonly kind: 'candidate'; readonly time: number; readonly id: string; readonly value: ClusterCandidate }
  | { readonly kind: 'statistic'; readonly time: number; readonly id: string; readonly value: CityStatistic };

// Versions of one subject's candidate at the same event time order by their card count (it only grows).
export const candidateInput = (value: ClusterCandidate): ArbiterInput => ({
  kind: 'candidate', time: value.time, id: `k:${value.subjectType}:${value.subjectId}:${String(value.cards.length).padStart(6, '0')}`, value,
});

export const statisticInput = (value: CityStatistic): ArbiterInput => ({
  kind: 'statistic', time: value.time, id: `s:${value.kind}:${value.city}:${value.day}`, value,
});

/** Everything a drain produced. Arrays are appended to; the caller empties them. */
export interface ProcessorOutput {
  readonly alerts: FraudAlert[];
  /** One per authorisation, from the terminal stage. */
  readonly decisions: Decision[];
  readonly toTerminal: KeyedStageInput[];
  readonly toMerchant: KeyedStageInput[];
  readonly toArbiter: ArbiterInput[];
}

/**
 * Whether a committed checkpoint says its task still holds inputs it will release by itself once
 * its inputs go idle. A task rebuilt by another instance holds them until its own idle check; a
 * stage downstream that took the task's caught-up, silent output for its end meanwhile would
 * receive them late.
 */
export function checkpointPending(metadata: string | null | undefined): boolean {
  return metadata !== null && metadata !== undefined && metadata.includes('"pending":true');
}

export function emptyOutput(): ProcessorOutput {
  return { alerts: [], decisions: [], toTerminal: [], toMerchant: [], toArbiter: [] };
}

function publish(verdicts: Verdict[], out: ProcessorOutput, t: Thresholds): void {
  for (const verdict of verdicts) out.alerts.push(toAlert(verdict, t));
  verdicts.length = 0;
}

abstract class Processor<I extends { readonly time: number; readonly id: string }> {
  protected readonly queue: EventTimeQueue<I>;
  protected readonly verdicts: Verdict[] = [];

  constructor(protected readonly thresholds: Thresholds) {
    this.queue = new EventTimeQueue(thresholds.allowedLatenessMinutes * 60_000);
  }

  get watermark(): number {
    return this.queue.watermark;
  }

  get lateInputs(): number {
    return this.queue.lateCount;
  }

  /** Subjects the stage's state holds (cards, terminals, merchants, candidates), beside the inputs its queue holds. */
  abstract get keys(): number;

  push(input: I, source?: string): void {
    this.queue.push(input, source);
  }

  idle(source: string, idle: boolean): void {
    this.queue.idle(source, idle);
  }

  /** A watermark marker from an upstream writer (see EventTimeQueue.mark). */
  mark(source: string, time: number): void {
    this.queue.mark(source, time);
  }

  drain(out: ProcessorOutput, all = false): void {
    this.queue.drain((input) => this.process(input, out), all);
    this.afterRelease();
    publish(this.verdicts, out, this.thresholds);
  }

  /**
   * The stage's release checkpoint, stored with its committed offsets: the largest key released,
   * and `pending` while the queue holds inputs it will release by itself (checkpointPending).
   */
  checkpoint(): string | undefined {
    const key = this.queue.checkpoint();
    return key === undefined ? undefined : JSON.stringify(this.queue.holdsReleasable() ? { ...key, pending: true } : key);
  }

  /** After a replay of its input, releases exactly what was released at the checkpoint (outputs go to `out`). */
  restore(checkpoint: string | undefined, out: ProcessorOutput): void {
    if (checkpoint !== undefined) this.queue.releaseThrough(JSON.parse(checkpoint) as Timed, (input) => this.process(input, out));
    this.afterRelease();
    publish(this.verdicts, out, this.thresholds);
  }

  /** Hook after a round of releases. */
  protected afterRelease(): void {}

  protected abstract process(input: I, out: ProcessorOutput): void;
}

export class CardProcessor extends Processor<StageInput> {
  private readonly stage: CardStage;

  /** `shardOf(cardToken)` is the card's partition (see CardStage). */
  constructor(thresholds: Thresholds, shardOf: (cardToken: string) => number) {
    super(thresholds);
    this.stage = new CardStage(thresholds, shardOf);
  }

  get keys(): number {
    return this.stage.size;
  }

  protected process(input: StageInput, out: ProcessorOutput): void {
    const stageOut: CardStageOutput = { verdicts: this.verdicts, compromises: [], disputes: [], confirmedFraud: [] };
    switch (input.kind) {
      case 'authorisation': {
        const card = this.stage.authorisation(input.value, stageOut);
        // A resend goes no further: the terminal and merchant stages see each authorisation once.
        if (card === undefined) break;
        out.toTerminal.push(toTerminalStage.authorisation(input, card));
        out.toMerchant.push(toMerchantStage.authorisation(input));
        break;
      }
      case 'outcome':
        this.stage.outcome(input.value, stageOut);
        break;
      case 'compromise':
      case 'dispute':
        throw new Error(`the card stage does not take ${input.kind} inputs`);
      default: {
        const unreachable: never = input;
        throw new Error(`unknown input ${String(unreachable)}`);
      }
    }
    for (const notice of stageOut.compromises) out.toMerchant.push(...toMerchantStage.compromise(notice));
    for (const notice of stageOut.disputes) out.toMerchant.push(toMerchantStage.dispute(notice));
    for (const notice of stageOut.confirmedFraud) out.toTerminal.push(toTerminalStage.confirmedFraud(notice));
  }
}

export class TerminalProcessor extends Processor<KeyedStageInput> {
  private readonly stage: TerminalStage;

  /** `policies`: the acquirers' own review and decline thresholds; `shardOf(terminalId)`: the terminal's partition. */
  constructor(thresholds: Thresholds, policies: DecisionPolicies, shardOf: (terminalId: string) => number) {
    super(thresholds);
    this.stage = new TerminalStage(thresholds, policies, shardOf);
  }

  get keys(): number {
    return this.stage.size;
  }

  protected process(input: KeyedStageInput, out: ProcessorOutput): void {
    if (input.kind === 'authorisation') this.stage.authorisation(input.value, input.card, this.verdicts, out.decisions);
    else if (input.kind === 'dispute') this.stage.confirmedFraud(input.value);
    else throw new Error(`the terminal stage does not take ${input.kind} inputs`);
  }
}

export class MerchantProcessor extends Processor<KeyedStageInput> {
  private readonly stage = new MerchantStage(this.thresholds);
  private readonly stageOut: MerchantStageOutput = { verdicts: this.verdicts, candidates: [], statistics: [] };

  get keys(): number {
    return this.stage.size;
  }

  protected process(input: KeyedStageInput, out: ProcessorOutput): void {
    this.stage.advance(input.time, this.stageOut);
    switch (input.kind) {
      case 'authorisation':
        this.stage.authorisation(input.value, this.verdicts);
        break;
      case 'compromise':
        this.stage.compromised(input.key, input.value, this.stageOut);
        break;
      case 'dispute':
        this.stage.disputed(input.value, this.verdicts);
        break;
      case 'outcome':
        throw new Error('the merchant stage does not take outcomes');
    }
    for (const candidate of this.stageOut.candidates) out.toArbiter.push(candidateInput(candidate));
    for (const statistic of this.stageOut.statistics) out.toArbiter.push(statisticInput(statistic));
    this.stageOut.candidates.length = 0;
    this.stageOut.statistics.length = 0;
  }
}

export class ArbiterProcessor extends Processor<ArbiterInput> {
  private readonly arbiter = new ClusterArbiter(this.thresholds, windowLengthsTried(this.thresholds));

  get keys(): number {
    return this.arbiter.size;
  }

  /** Upstream progress: lets decisions happen when no new candidate comes (see EventTimeQueue.advanceTo). */
  advanceTo(time: number): void {
    this.queue.advanceTo(time);
  }

  private finishing = false;

  override drain(out: ProcessorOutput, all = false): void {
    this.finishing = all;
    super.drain(out, all);
  }

  protected override afterRelease(): void {
    this.arbiter.advance(this.finishing ? Number.POSITIVE_INFINITY : this.queue.watermark, this.verdicts);
  }

  protected process(input: ArbiterInput): void {
    if (input.kind === 'candidate') this.arbiter.candidate(input.value, this.verdicts);
    else this.arbiter.statistic(input.value);
  }
}
