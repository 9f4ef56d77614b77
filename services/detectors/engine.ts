/**
 * The detector stages chained in memory (processors.ts): what the detectors service does over
 * repartition topics, in one object. `replay` and the quality benchmark use it directly; it is
 * deterministic for a given input sequence.
 */
import type { Decision, FraudAlert } from '../core/records.ts';
import type { DecisionPolicies } from './decision/decide.ts';
import type { StageInput } from './inputs.ts';
import { ArbiterProcessor, CardProcessor, MerchantProcessor, TerminalProcessor, emptyOutput } from './processors.ts';
import type { Thresholds } from './thresholds.ts';

export class DetectionEngine {
  private readonly card: CardProcessor;
  private readonly terminal: TerminalProcessor;
  private readonly merchant: MerchantProcessor;
  private readonly arbiter: ArbiterProcessor;
  private readonly out = emptyOutput();

  /**
   * `shardOf(key)`: the partition of a card or terminal, as the detectors service would see it. `onDecision`
   * gets the decision on every authorisation, in the order the terminal stage makes them.
   */
  constructor(thresholds: Thresholds, shardOf: (cardToken: string) => number, private readonly onAlert: (alert: FraudAlert) => void,
    private readonly onDecision: (decision: Decision) => void = () => undefined, policies: DecisionPolicies = {}) {
    this.card = new CardProcessor(thresholds, shardOf);
    this.terminal = new TerminalProcessor(thresholds, policies, shardOf);
    this.merchant = new MerchantProcessor(thresholds);
    this.arbiter = new ArbiterProcessor(thresholds);
  }

  get lateInputs(): number {
    return this.card.lateInputs + this.terminal.lateInputs + this.merchant.lateInputs + this.arbiter.lateInputs;
  }

  push(input: StageInput): void {
    this.card.push(input);
    this.pump(false);
  }

  /** End of input: release everything still held. */
  finish(): void {
    this.pump(true);
  }

  private pump(all: boolean): void {
    const out = this.out;
    this.card.drain(out, all);
    for (const input of out.toTerminal) this.terminal.push(input);
    for (const input of out.toMerchant) this.merchant.push(input);
    out.toTerminal.length = 0;
    out.toMerchant.length = 0;
    this.terminal.drain(out, all);
    this.merchant.drain(out, all);
    for (const input of out.toArbiter) this.arbiter.push(input);
    out.toArbiter.length = 0;
    this.arbiter.advanceTo(this.merchant.watermark);
    this.arbiter.drain(out, all);
    for (const alert of out.alerts) this.onAlert(alert);
    out.alerts.length = 0;
    for (const decision of out.decisions) this.onDecision(decision);
    out.decisions.length = 0;
  }
}
