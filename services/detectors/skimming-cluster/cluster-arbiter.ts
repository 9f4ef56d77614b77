/**
 * The common point of compromise among candidates (SPEC §3.1). Every shop that compromised
 * cardholders frequent shows some of them; the point of compromise is where they are improbably
 * many for that place and time. The merchant stage proposes candidate clusters (a terminal or a
 * merchant, a window, its compromised cards and card visits) and reports per city and day how many
 * card visits there were and how many were by compromised cards. This stage, which sees all of it,
 * tests each candidate against the background compromise rate of its own city in the same window:
 * the city's visits without the candidate's own merchant and the merchants already named there,
 * never below the population rate. Skimmed cards live where the skimmer is, so a grocery in the
 * skimmer's town sees several of them without being the cause. The merchant stage tries several
 * window lengths, so α is divided by their number.
 *
 * A merchant is named with any terminal of its that is named: its terminal is where its customers'
 * cards were compromised, whether or not its other tills dilute the merchant's own figures.
 *
 * Candidates are decided once event time has passed them, so that every candidate and statistic of
 * the same time has arrived: the verdicts do not depend on the order partitions delivered them in.
 * State: the latest candidate per subject, and per city two counters per day of the lookback.
 */
import { DAY_MS } from '../../core/geo.ts';
import type { SubjectType } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import { binomialTail } from '../kernel/statistics.ts';
import type { Thresholds } from '../thresholds.ts';
import { SKIMMING_CLUSTER, SKIMMING_CLUSTER_VERSION, type CityStatistic } from './skimming-cluster.ts';

export interface ClusterCandidate {
  readonly subjectType: Extract<SubjectType, 'TERMINAL' | 'MERCHANT'>;
  readonly subjectId: string;
  /** The merchant (for a terminal, the one it belongs to). */
  readonly merchantId: string;
  readonly city: string;
  /** Event time of the notice that produced this version of the candidate. */
  readonly time: number;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Card visits in the window, and how many were by compromised cards (card-days). */
  readonly visits: number;
  readonly compromisedVisits: number;
  readonly cards: readonly string[];
  readonly evidenceEventIds: readonly string[];
}

/** Below this many card visits in a city and window, its own rate is too noisy; use the population's. */
const minCityVisits = 500;

interface CityDays {
  visits: Map<number, number>;
  compromised: Map<number, number>;
}

export class ClusterArbiter {
  private readonly latest = new Map<string, ClusterCandidate>();
  private readonly cities = new Map<string, CityDays>();
  private readonly alertedUntil = new Map<string, number>();
  private readonly pending = new Set<string>();
  private pendingTime = Number.NEGATIVE_INFINITY;

  private readonly named = new Map<string, ClusterCandidate>();
  private readonly alpha: number;

  constructor(private readonly t: Thresholds, windowLengthsTried: number) {
    this.alpha = t.cppAlpha / windowLengthsTried;
  }

  candidate(c: ClusterCandidate, verdicts: Verdict[]): void {
    this.advance(c.time, verdicts);
    const key = `${c.subjectType}:${c.subjectId}`;
    this.latest.set(key, c);
    this.pending.add(key);
    this.pendingTime = c.time;
  }

  statistic(s: CityStatistic): void {
    let city = this.cities.get(s.city);
    if (city === undefined) {
      city = { visits: new Map(), compromised: new Map() };
      this.cities.set(s.city, city);
    }
    const counters = s.kind === 'visits' ? city.visits : city.compromised;
    counters.set(s.day, (counters.get(s.day) ?? 0) + s.count);
  }

  /** Event time has passed `watermark`: no more inputs of the pending time can come. */
  advance(watermark: number, verdicts: Verdict[]): void {
    if (this.pending.size === 0 || this.pendingTime >= watermark) return;
    for (const key of [...this.pending].sort()) {
      const c = this.latest.get(key)!;
      if (c.time < (this.alertedUntil.get(key) ?? Number.NEGATIVE_INFINITY)) continue;
      const rate = this.localRate(c);
      const p = binomialTail(c.visits, c.cards.length, rate);
      if (p >= this.alpha) continue;
      this.alertedUntil.set(key, c.time + this.t.compromiseLookbackDays * DAY_MS);
      this.named.set(c.merchantId, this.latest.get(`MERCHANT:${c.merchantId}`) ?? c);
      verdicts.push(this.verdict(c, rate, p));
      const merchantKey = `MERCHANT:${c.merchantId}`;
      if (c.subjectType === 'TERMINAL' && c.time >= (this.alertedUntil.get(merchantKey) ?? Number.NEGATIVE_INFINITY)) {
        this.alertedUntil.set(merchantKey, c.time + this.t.compromiseLookbackDays * DAY_MS);
        verdicts.push(this.merchantOfTerminal(c, rate, p));
      }
    }
    this.pending.clear();
  }

  private merchantOfTerminal(c: ClusterCandidate, rate: number, p: number): Verdict {
    const terminal = this.verdict(c, rate, p);
    return {
      ...terminal,
      subjectType: 'MERCHANT',
      subjectId: c.merchantId,
      explanation: `Merchant ${c.merchantId} in ${c.city} is a probable point of compromise through its terminal ${c.subjectId}: ${terminal.explanation}`,
    };
  }

  /** The background compromise rate of the candidate's city over its window: its own and named merchants left out. */
  private localRate(c: ClusterCandidate): number {
    const city = this.cities.get(c.city);
    let visits = 0;
    let compromised = 0;
    for (let d = c.windowStart / DAY_MS; d < c.windowEnd / DAY_MS; d++) {
      visits += city?.visits.get(d) ?? 0;
      compromised += city?.compromised.get(d) ?? 0;
    }
    const own = this.latest.get(`MERCHANT:${c.merchantId}`) ?? c;
    const excluded = new Set([own, ...[...this.named.values()].filter((m) => m.city === c.city && m.merchantId !== c.merchantId)]);
    for (const other of excluded) {
      const overlap = Math.min(other.windowEnd, c.windowEnd) - Math.max(other.windowStart, c.windowStart);
      if (overlap <= 0) continue;
      const share = overlap / (other.windowEnd - other.windowStart);
      visits -= other.visits * share;
      compromised -= other.compromisedVisits * share;
    }
    const background = visits >= minCityVisits ? Math.max(0, compromised) / visits : 0;
    return Math.max(this.t.populationCompromiseRate, background);
  }

  private verdict(c: ClusterCandidate, rate: number, p: number): Verdict {
    const k = c.cards.length;
    const expected = c.visits * rate;
    return {
      detector: SKIMMING_CLUSTER,
      detectorVersion: SKIMMING_CLUSTER_VERSION,
      subjectType: c.subjectType,
      subjectId: c.subjectId,
      windowStart: c.windowStart,
      windowEnd: c.windowEnd,
      score: Math.min(0.99, 0.6 + Math.min(0.39, -Math.log10(Math.max(p, 1e-300)) / 40)),
      evidenceEventIds: [...c.evidenceEventIds],
      reasonCodes: ['COMMON_POINT_OF_COMPROMISE'],
      explanation: `${c.subjectType === 'TERMINAL' ? 'Terminal' : 'Merchant'} ${c.subjectId} in ${c.city} is a probable point of compromise: ${k} of its ` +
        `${fmt.int(c.visits)} card visits between ${fmt.date(c.windowStart).slice(0, 10)} and ${fmt.date(c.windowEnd - DAY_MS).slice(0, 10)} were by cards ` +
        `later compromised, against ${fmt.dec(expected)} expected at ${c.city}'s background compromise rate of ${(rate * 100).toFixed(1)}% that week (p = ${p.toExponential(1)}).`,
      measurements: { distinctCompromisedCards: k, cardVisitsInWindow: c.visits, localCompromiseRate: rate, expectedCompromisedCards: expected, pValue: p },
      detectedAt: c.time,
    };
  }
}
