/**
 * The merchant-keyed stage: skimming clusters and points of fraud (per terminal and per merchant,
 * seen together), and transaction laundering / cash-out.
 */
import { DAY_MS } from '../core/geo.ts';
import type { EnrichedAuthorisation } from '../core/records.ts';
import type { Verdict } from './kernel/alert.ts';
import type { CompromiseNotice, DisputeNotice } from './inputs.ts';
import { LaunderingCashout } from './laundering-cashout/laundering-cashout.ts';
import type { ClusterCandidate } from './skimming-cluster/cluster-arbiter.ts';
import { SkimmingCluster, type CityStatistic } from './skimming-cluster/skimming-cluster.ts';
import type { Thresholds } from './thresholds.ts';
import { evictionEveryAuthorisations } from './kernel/eviction.ts';

export interface MerchantStageOutput {
  readonly verdicts: Verdict[];
  /** For the cluster arbiter. */
  readonly candidates: ClusterCandidate[];
  readonly statistics: CityStatistic[];
}

export class MerchantStage {
  private readonly cluster: SkimmingCluster;
  private readonly laundering: LaunderingCashout;
  private day: number | undefined;
  private sinceEviction = 0;

  constructor(t: Thresholds) {
    this.cluster = new SkimmingCluster(t);
    this.laundering = new LaunderingCashout(t);
  }

  /** Merchants held. */
  get size(): number {
    return this.cluster.size;
  }

  /** Called with each input's event time before the input itself: closes days as event time passes midnight. */
  advance(time: number, out: MerchantStageOutput): void {
    const day = Math.floor(time / DAY_MS);
    if (this.day !== undefined && day > this.day) {
      this.laundering.closeDay(day, out.verdicts);
      this.cluster.closedDayVisits(day, out.statistics);
    }
    if (this.day === undefined || day > this.day) this.day = day;
  }

  authorisation(e: EnrichedAuthorisation, verdicts: Verdict[]): void {
    const a = e.authorisation;
    this.cluster.visit(a.merchantId, e.merchant?.city ?? 'unknown', a.terminalId, a.cardToken, a.eventTime);
    this.laundering.authorisation(e, verdicts);
    if (++this.sinceEviction >= evictionEveryAuthorisations) {
      this.sinceEviction = 0;
      this.cluster.evict(a.eventTime);
      this.laundering.evict(a.eventTime);
    }
  }

  /** `notice` holds only this merchant's visits; cluster candidates and city statistics go to the arbiter. */
  compromised(merchantId: string, notice: CompromiseNotice, out: MerchantStageOutput): void {
    this.cluster.compromised(merchantId, notice, out.candidates, out.statistics);
  }

  disputed(notice: DisputeNotice, verdicts: Verdict[]): void {
    this.cluster.disputed(notice, verdicts);
  }
}
