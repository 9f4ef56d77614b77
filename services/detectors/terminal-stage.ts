/**
 * The terminal-keyed stage: terminal tampering and card testing over authorisations re-keyed by
 * terminal, and the decision on each authorisation: the card stage's view of the card that
 * travelled with it, and the terminal's confirmed-fraud rate and alerts, known here.
 */
import type { Decision, EnrichedAuthorisation } from '../core/records.ts';
import { CardTesting } from './card-testing/card-testing.ts';
import type { CardAssessment } from './decision/card-assessment.ts';
import { decide, type DecisionPolicies } from './decision/decide.ts';
import { TerminalRisk } from './decision/terminal-risk.ts';
import { confirmedFraud, newOnlineModel, type OnlineModel } from './decision/online-model.ts';
import type { DisputeNotice } from './inputs.ts';
import type { Verdict } from './kernel/alert.ts';
import { TerminalCompromise } from './terminal-compromise/terminal-compromise.ts';
import type { Thresholds } from './thresholds.ts';
import { evictionEveryAuthorisations } from './kernel/eviction.ts';

/** What a card stage that predates decisions sends: nothing known about the card. */
const unknownCard: CardAssessment = {
  purchases: 0, usualAmountMinor: 0, amountSpreads: 0, amountRatio: 1, habitSpreads: 0, habitUsualMinor: 0, burstScore: 0, last24Hours: 0, usualPerDay: 0,
  fraudReportedAt: null, alertedAt: null, alertDetector: null,
};

export class TerminalStage {
  private readonly compromise: TerminalCompromise;
  private readonly cardTesting: CardTesting;
  private readonly risk: TerminalRisk;
  /** One decision model per terminal shard (the terminal's partition), so that one process decides as the partitioned stages do. */
  private readonly models = new Map<number, OnlineModel>();
  private sinceEviction = 0;

  constructor(private readonly t: Thresholds, private readonly policies: DecisionPolicies, private readonly shardOf: (terminalId: string) => number) {
    this.compromise = new TerminalCompromise(t);
    this.cardTesting = new CardTesting(t);
    this.risk = new TerminalRisk(t.decisionTerminalWindowDays);
  }

  /** Terminals held (every terminal seen within the decision's terminal window). */
  get size(): number {
    return this.risk.size;
  }

  authorisation(e: EnrichedAuthorisation, card: CardAssessment | undefined, verdicts: Verdict[], decisions: Decision[]): void {
    const a = e.authorisation;
    for (const verdict of [this.compromise.authorisation(e), this.cardTesting.authorisation(e)]) {
      if (verdict === undefined) continue;
      verdicts.push(verdict);
      this.risk.alerted(a.terminalId, a.eventTime, verdict.detector);
    }
    decisions.push(decide(e, card ?? unknownCard, this.risk.authorisation(a.terminalId, a.eventTime), this.model(a.terminalId), this.t, this.policies));
    if (++this.sinceEviction >= evictionEveryAuthorisations) {
      this.sinceEviction = 0;
      this.compromise.evict(a.eventTime);
      this.cardTesting.evict(a.eventTime);
      this.risk.evict(a.eventTime);
    }
  }

  confirmedFraud(notice: DisputeNotice): void {
    this.risk.confirmedFraud(notice);
    confirmedFraud(this.model(notice.terminalId), notice.eventId);
  }

  private model(terminalId: string): OnlineModel {
    const shard = this.shardOf(terminalId);
    let model = this.models.get(shard);
    if (model === undefined) this.models.set(shard, (model = newOnlineModel(this.t)));
    return model;
  }
}
