/**
 * The common point of compromise among candidates. Every shop that compromised
 * cardholders frequent shows some of them; the point of compromise is where they are improbably
 * many for that place and time. The merchant stage proposes candidate clusters (a terminal or a
 * merchant, a window, its compromised cards and card visits) and reports per city and day how many
 * card visits there were and how many were by compromised cards. This stage, which sees all of it,
 * tests each candidate against its own compromise rate outside its window (skimming-cluster.ts: a
 * shop next to a skimmer shares its victims every week, not only in the skimmer's days), shrunk
 * toward its city's background in the same window (without the candidate's own merchant and the
 * merchants already named there), never below the population's.
 *
 * Thousands of terminals are tested, so chance alone would name some: a candidate is named only
 * when its p-value passes Benjamini–Hochberg at `cppFalseDiscoveryRate` over every subject tested
 * so far (each with its latest p-value), with p multiplied by the number of window lengths the
 * merchant stage tried for it. Subjects with fewer than cppMinCompromisedCards compromised visitors
 * are never candidates and not counted: they cannot reach significance anyway.
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
  /**
   * The subject's card visits over the lookback outside the window, and how many were by
   * compromised cards: what its customers are compromised at anyway (they may live next to a
   * skimmer).
   */
  readonly referenceVisits: number;
  readonly referenceCompromisedVisits: number;
  /** The compromised cards of those reference visits, one entry per card-day. */
  readonly referenceCards: readonly string[];
}

interface CandidateTest {
  readonly rate: number;
  /** Adjusted for the window lengths tried. */
  readonly p: number;
  readonly k: number;
  /** Of the k, how many another named point of compromise explains. */
  readonly explained: number;
  /** Of the reference's compromised visits, how many were by cards a named point explains. */
  readonly referenceExplained: number;
}

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
  /**
   * Every subject named, with its compromised cards: they explain those cards' visits elsewhere.
   * `cards` grows with the victims it gains after it was named; `namedFor` are those it was named for.
   */
  private readonly namedSubjects = new Map<string, { readonly candidate: ClusterCandidate; readonly cards: ReadonlySet<string>; readonly namedFor: ReadonlySet<string> }>();
  /** The latest p-value of every subject tested: the family Benjamini–Hochberg controls. */
  private readonly tested = new Map<string, number>();

  /** Candidates and cities held. */
  get size(): number {
    return this.latest.size + this.cities.size;
  }

  constructor(private readonly t: Thresholds, private readonly windowLengthsTried: number) {}

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
    // Every pending subject joins the tested family first; then the most significant are decided
    // first, because a subject named explains away its victims at the others (the shop next door).
    const pending = [...this.pending].sort().map((key) => ({ key, p: this.test(this.latest.get(key)!).p }));
    for (const { key, p } of pending) this.tested.set(key, p);
    pending.sort((a, b) => a.p - b.p || (a.key < b.key ? -1 : 1));
    for (const { key } of pending) {
      const c = this.latest.get(key)!;
      if (c.time < (this.alertedUntil.get(key) ?? Number.NEGATIVE_INFINITY)) {
        // Named already: the victims it gained since explain their visits elsewhere too.
        const named = this.namedSubjects.get(key);
        if (named !== undefined) this.namedSubjects.set(key, { candidate: c, cards: new Set([...named.cards, ...c.cards]), namedFor: named.namedFor });
        continue;
      }
      const test = this.test(c);
      this.tested.set(key, test.p);
      // What is left once other points explain their victims must still be a cluster on its own.
      if (test.p > this.discoveryCutoff() || test.explained >= this.t.cppExplainedShare * c.cards.length || test.k < this.t.cppMinCompromisedCards) continue;
      this.alertedUntil.set(key, c.time + this.t.compromiseLookbackDays * DAY_MS);
      const merchant = this.latest.get(`MERCHANT:${c.merchantId}`) ?? c;
      this.named.set(c.merchantId, merchant);
      this.namedSubjects.set(key, { candidate: c, cards: new Set(c.cards), namedFor: new Set(c.cards) });
      verdicts.push(this.verdict(c, test));
      const merchantKey = `MERCHANT:${c.merchantId}`;
      if (c.subjectType === 'TERMINAL' && c.time >= (this.alertedUntil.get(merchantKey) ?? Number.NEGATIVE_INFINITY)) {
        this.alertedUntil.set(merchantKey, c.time + this.t.compromiseLookbackDays * DAY_MS);
        verdicts.push(this.merchantOfTerminal(c, test));
      }
    }
    this.pending.clear();
  }

  private merchantOfTerminal(c: ClusterCandidate, test: CandidateTest): Verdict {
    const terminal = this.verdict(c, test);
    return {
      ...terminal,
      subjectType: 'MERCHANT',
      subjectId: c.merchantId,
      explanation: `Merchant ${c.merchantId} in ${c.city} is a probable point of compromise through its terminal ${c.subjectId}: ${terminal.explanation}`,
    };
  }

  /**
   * Benjamini–Hochberg over the subjects tested so far: the largest p(i) with p(i) ≤ q·i/m; every
   * p-value at or below it is a discovery. −1 when there is none.
   */
  private discoveryCutoff(): number {
    const sorted = [...this.tested.values()].sort((a, b) => a - b);
    const m = sorted.length;
    for (let i = m; i >= 1; i--) if (sorted[i - 1]! <= (this.t.cppFalseDiscoveryRate * i) / m) return sorted[i - 1]!;
    return -1;
  }

  /**
   * A candidate's test: its compromised cards against the rate `localRate` gives, and how many of
   * them a point of compromise already named within the lookback explains (another merchant, or a
   * sister terminal: the shopper skimmed at till 1 also paid at till 2). A merchant and its own
   * terminals do not explain each other. A candidate mostly explained is the shop next door.
   * Another merchant's point explains every victim it has gained since it was named (the shop next
   * door keeps sharing them); a sister terminal only those it was named for: both tills serve the
   * same regulars every day, so the victims a second skimmer in the same shop makes would all be
   * put down to the first.
   */
  private test(c: ClusterCandidate): CandidateTest {
    const lookback = this.t.compromiseLookbackDays * DAY_MS;
    const key = `${c.subjectType}:${c.subjectId}`;
    const explainers = [...this.namedSubjects].filter(([namedKey, { candidate: n }]) => namedKey !== key
      && !(n.merchantId === c.merchantId && n.subjectType !== c.subjectType)
      && n.windowEnd + lookback >= c.windowStart && n.windowStart - lookback <= c.windowEnd)
      .map(([, { candidate: n, cards, namedFor }]) => (n.merchantId === c.merchantId ? namedFor : cards));
    const isExplained = (card: string) => explainers.some((cards) => cards.has(card));
    const explained = c.cards.filter(isExplained).length;
    // The same points explain those cards' visits on the subject's other days: what is left of its
    // reference is what its customers are compromised at apart from the points already named.
    const referenceExplained = c.referenceCards.filter(isExplained).length;
    const rate = this.localRate(c, referenceExplained);
    const k = c.cards.length - explained;
    const p = Math.min(1, binomialTail(Math.max(k, c.visits - explained), k, rate) * this.windowLengthsTried);
    return { rate, p, k, explained, referenceExplained };
  }

  /**
   * The rate a candidate is tested against: its own reference, without the `referenceExplained`
   * compromised visits of named points' victims, shrunk toward its city's background, never below
   * the population's.
   */
  private localRate(c: ClusterCandidate, referenceExplained: number): number {
    const prior = this.t.cppReferencePriorVisits;
    return Math.max(this.t.populationCompromiseRate, (c.referenceCompromisedVisits - referenceExplained + this.cityRate(c) * prior) / (c.referenceVisits - referenceExplained + prior));
  }

  /** The background compromise rate of the candidate's city over its window: its own and named merchants left out. */
  private cityRate(c: ClusterCandidate): number {
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
    const background = visits >= this.t.cppMinCityVisits ? Math.max(0, compromised) / visits : 0;
    return Math.max(this.t.populationCompromiseRate, background);
  }

  private verdict(c: ClusterCandidate, test: CandidateTest): Verdict {
    const { rate, p, k, explained, referenceExplained } = test;
    const n = Math.max(k, c.visits);
    const expected = n * rate;
    const others = explained === 0 ? '' : ` (besides ${explained} that also visited a point of compromise named elsewhere)`;
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
      explanation: `${c.subjectType === 'TERMINAL' ? 'Terminal' : 'Merchant'} ${c.subjectId} in ${c.city} is a probable point of compromise: ${k} of the ` +
        `${fmt.int(n)} card visits between ${fmt.date(c.windowStart).slice(0, 10)} and ${fmt.date(c.windowEnd - DAY_MS).slice(0, 10)} were later compromised${others}, ` +
        `against ${fmt.dec(expected)} expected at ${(rate * 100).toFixed(1)}%: its own rate on other days ` +
        `(${c.referenceCompromisedVisits} of ${fmt.int(c.referenceVisits)} card visits${referenceExplained > 0 ? `, ${referenceExplained} of them by cards a point named elsewhere explains, left out` : ''}), ` +
        `weighed with ${c.city}'s rate that week, never below the population's ` +
        `(p = ${p.toExponential(1)}; false discovery rate ${fmt.pct(this.t.cppFalseDiscoveryRate)} over ${fmt.int(this.tested.size)} subjects tested).`,
      measurements: {
        distinctCompromisedCards: k, explainedElsewhere: explained, cardVisitsInWindow: n, localCompromiseRate: rate,
        expectedCompromisedCards: expected, pValue: p, referenceVisits: c.referenceVisits, referenceCompromisedVisits: c.referenceCompromisedVisits,
        referenceExplainedVisits: referenceExplained,
        subjectsTested: this.tested.size,
      },
      detectedAt: c.time,
    };
  }
}
