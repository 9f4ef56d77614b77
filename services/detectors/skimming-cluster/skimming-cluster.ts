/**
 * Skimming cluster / common point of compromise, and its mirror, the point of fraud,
 * subjects TERMINAL and MERCHANT, keyed by merchant. Compromise clusters found here are candidates:
 * the cluster arbiter, which sees every merchant's, names the common point among them.
 *
 * COMMON_POINT_OF_COMPROMISE: compromised cards' genuine visits before their first fraud, counted
 * per terminal and day. For each window of 3, 5 or cppWindowDays days holding such visits (a
 * skimmer stays days, not weeks: a short window is not diluted by unskimmed days), k distinct
 * compromised cards among n card visits makes a candidate when k ≥ cppMinCompromisedCards. What
 * k is compared with comes from the subject's own visits outside the window, case-control fashion:
 * the share of its card visits over the lookback, outside the window, that were by compromised
 * cards. Cardholders shop near home, so the victims of one skimmer fill every shop of its street;
 * a neighbouring shop sees them on every day alike (its share in the window is its share outside),
 * while at the skimmed terminal every card that came in the window was exposed, and the same
 * customers' other visits were not.
 * The cluster arbiter tests every candidate against that reference rate, shrunk toward its city's
 * rate in the window and never below the population rate, with Benjamini–Hochberg control of false
 * discoveries across all subjects it tested. For the city rate this stage also reports, per city and day, its
 * merchants' card visits (at day close) and the compromised ones (as notices reveal them).
 * POINT_OF_FRAUD: authorisations disputed as fraud, counted per terminal and merchant: k distinct
 * disputing cards among the n visits of the disputed period, against disputeBaseRate, the p-value
 * counted once per period of that length in pointOfFraudWindowDays.
 *
 * State per merchant: distinct visitors per terminal and day (a set for the last two days, a count
 * after that) over compromiseLookbackDays + cppWindowDays, plus compromised visits and disputes.
 */
import { DAY_MS } from '../../core/geo.ts';
import type { SubjectType } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import { binomialTail } from '../kernel/statistics.ts';
import type { CompromiseNotice, DisputeNotice } from '../inputs.ts';
import type { Thresholds } from '../thresholds.ts';
import type { ClusterCandidate } from './cluster-arbiter.ts';

export const SKIMMING_CLUSTER = 'skimming-cluster';
export const SKIMMING_CLUSTER_VERSION = '1.2.0';

/** Compromised cards per day: card → the eventId of its visit. */
type CompromisedByDay = Map<number, Map<string, string>>;

interface DisputedCard {
  eventIds: string[];
  first: number;
  last: number;
}

interface TerminalRecord {
  visitors: Map<number, Set<string> | number>;
  compromised: CompromisedByDay;
  disputes: Map<string, DisputedCard>;
}

interface MerchantRecord {
  city: string;
  terminals: Map<string, TerminalRecord>;
  visitors: Map<number, Set<string> | number>;
  /** Cards already counted compromised per day, for the city totals. */
  compromisedByDay: Map<number, Set<string>>;
  suppressedUntil: Map<string, number>;
  lastSeen: number;
}

interface Cluster {
  readonly from: number;
  readonly days: number;
  readonly k: number;
  readonly n: number;
  readonly p: number;
  readonly cards: Map<string, string>;
  /** Compromised card-days in the window (what the city totals count). */
  readonly compromisedVisits: number;
  readonly referenceVisits: number;
  /** The compromised cards of the reference visits, one entry per card-day. */
  readonly referenceCards: string[];
}

const dayOf = (time: number) => Math.floor(time / DAY_MS);

function countVisitors(visitors: Map<number, Set<string> | number>, fromDay: number, toDay: number): number {
  let n = 0;
  for (let d = fromDay; d <= toDay; d++) {
    const v = visitors.get(d);
    n += v === undefined ? 0 : typeof v === 'number' ? v : v.size;
  }
  return n;
}

/** Adds a card to a day's visitors; true when it is the card's first visit that day. */
function addVisitor(visitors: Map<number, Set<string> | number>, day: number, cardToken: string, horizonDay: number): boolean {
  let today = visitors.get(day);
  if (today === undefined) {
    today = new Set();
    visitors.set(day, today);
    for (const [d, v] of visitors) {
      if (d < horizonDay) visitors.delete(d);
      else if (d < day - 1 && typeof v !== 'number') visitors.set(d, v.size);
    }
  }
  if (typeof today === 'number' || today.has(cardToken)) return false;
  today.add(cardToken);
  return true;
}

/**
 * Per city and day: card visits (distinct per merchant and day) and how many of them were by
 * compromised cards. `time` is the event time it became known: the day's close for visits, the
 * notice's time for compromised ones.
 */
export interface CityStatistic {
  readonly kind: 'visits' | 'compromised';
  readonly city: string;
  readonly day: number;
  readonly count: number;
  readonly time: number;
}

/** Window lengths tried (days); the arbiter divides α by their number (Bonferroni) for the extra tests. */
function windowLengths(t: Thresholds): number[] {
  return [...new Set([3, 5, t.cppWindowDays])].filter((w) => w <= t.cppWindowDays);
}

export const windowLengthsTried = (t: Thresholds): number => windowLengths(t).length;

export class SkimmingCluster {
  private readonly merchants = new Map<string, MerchantRecord>();
  /** City → day → new card visits not yet reported. */
  private readonly unreportedVisits = new Map<string, Map<number, number>>();

  /** Merchants whose visits it holds. */
  get size(): number {
    return this.merchants.size;
  }

  constructor(private readonly t: Thresholds) {}

  private merchant(id: string): MerchantRecord {
    let m = this.merchants.get(id);
    if (m === undefined) {
      m = { city: 'unknown', terminals: new Map(), visitors: new Map(), compromisedByDay: new Map(), suppressedUntil: new Map(), lastSeen: 0 };
      this.merchants.set(id, m);
    }
    return m;
  }

  private terminal(m: MerchantRecord, id: string): TerminalRecord {
    let t = m.terminals.get(id);
    if (t === undefined) {
      t = { visitors: new Map(), compromised: new Map(), disputes: new Map() };
      m.terminals.set(id, t);
    }
    return t;
  }

  private get horizonDays(): number {
    return this.t.compromiseLookbackDays + this.t.cppWindowDays;
  }

  visit(merchantId: string, city: string, terminalId: string, cardToken: string, time: number): void {
    const m = this.merchant(merchantId);
    m.lastSeen = time;
    m.city = city;
    const day = dayOf(time);
    const horizon = day - this.horizonDays;
    // Days leave the horizon only when a new day begins: the first visit of a day prunes.
    if (!m.visitors.has(day)) for (const d of m.compromisedByDay.keys()) if (d < horizon) m.compromisedByDay.delete(d);
    if (addVisitor(m.visitors, day, cardToken, horizon)) {
      let days = this.unreportedVisits.get(city);
      if (days === undefined) {
        days = new Map<number, number>();
        this.unreportedVisits.set(city, days);
      }
      days.set(day, (days.get(day) ?? 0) + 1);
    }
    const terminal = this.terminal(m, terminalId);
    if (!terminal.visitors.has(day)) for (const d of terminal.compromised.keys()) if (d < horizon) terminal.compromised.delete(d);
    addVisitor(terminal.visitors, day, cardToken, horizon);
  }

  private get windowLengths(): number[] {
    return windowLengths(this.t);
  }

  /**
   * The window around `days` with the least probable count of compromised cards at the
   * population rate, with the subject's own visits outside it as its reference (see the file head).
   */
  private bestWindow(compromised: readonly CompromisedByDay[], visitors: Map<number, Set<string> | number>, days: Iterable<number>): Cluster | undefined {
    let best: Omit<Cluster, 'referenceVisits' | 'referenceCards'> | undefined;
    for (const w of this.windowLengths) for (const visitDay of [...new Set(days)].sort((a, b) => a - b)) {
      for (let from = visitDay - w + 1; from <= visitDay; from++) {
        const cards = new Map<string, string>();
        for (let d = from; d < from + w; d++) {
          for (const byDay of compromised) {
            for (const [card, eventId] of byDay.get(d) ?? []) if (!cards.has(card)) cards.set(card, eventId);
          }
        }
        const k = cards.size;
        if (k < this.t.cppMinCompromisedCards) continue;
        const n = Math.max(k, countVisitors(visitors, from, from + w - 1));
        let compromisedVisits = 0;
        for (let d = from; d < from + w; d++) for (const byDay of compromised) compromisedVisits += byDay.get(d)?.size ?? 0;
        const p = binomialTail(n, k, this.t.populationCompromiseRate);
        if (best === undefined || p < best.p) best = { from, days: w, k, n, p, cards, compromisedVisits };
      }
    }
    if (best === undefined) return undefined;
    const to = best.from + best.days;
    let referenceVisits = 0;
    for (const [d, v] of visitors) if (d < best.from || d >= to) referenceVisits += typeof v === 'number' ? v : v.size;
    const referenceCards: string[] = [];
    for (const byDay of compromised) for (const [d, cards] of byDay) if (d < best.from || d >= to) referenceCards.push(...cards.keys());
    return { ...best, referenceVisits, referenceCards: referenceCards.sort() };
  }

  /** Card visits of the days before `day`, per city, in city and day order. */
  closedDayVisits(day: number, out: CityStatistic[]): void {
    for (const city of [...this.unreportedVisits.keys()].sort()) {
      const days = this.unreportedVisits.get(city)!;
      for (const d of [...days.keys()].sort((a, b) => a - b)) {
        if (d >= day) continue;
        out.push({ kind: 'visits', city, day: d, count: days.get(d)!, time: (d + 1) * DAY_MS });
        days.delete(d);
      }
    }
  }

  /**
   * `notice` holds only this merchant's visits. Proposes the clusters of the terminals it touched,
   * and of the merchant, to the cluster arbiter (cluster-arbiter.ts), which names the common point.
   */
  compromised(merchantId: string, notice: CompromiseNotice, candidates: ClusterCandidate[], statistics: CityStatistic[]): void {
    const m = this.merchant(merchantId);
    const days = new Set<number>();
    const touched = new Set<string>();
    for (const v of notice.visits) {
      const day = dayOf(v.time);
      const counted = m.compromisedByDay.get(day) ?? new Set<string>();
      if (!counted.has(notice.cardToken)) {
        counted.add(notice.cardToken);
        m.compromisedByDay.set(day, counted);
        statistics.push({ kind: 'compromised', city: m.city, day, count: 1, time: notice.time });
      }
    }
    for (const v of notice.visits) {
      const byDay = this.terminal(m, v.terminalId).compromised;
      const day = dayOf(v.time);
      let cards = byDay.get(day);
      if (cards === undefined) {
        cards = new Map();
        byDay.set(day, cards);
      }
      if (!cards.has(notice.cardToken)) cards.set(notice.cardToken, v.eventId);
      days.add(day);
      touched.add(v.terminalId);
    }
    for (const terminalId of [...touched].sort()) {
      const t = m.terminals.get(terminalId)!;
      const cluster = this.bestWindow([t.compromised], t.visitors, days);
      if (cluster !== undefined) candidates.push(this.candidateOf('TERMINAL', terminalId, merchantId, m.city, cluster, notice.time));
    }
    const cluster = this.bestWindow([...m.terminals.values()].map((t) => t.compromised), m.visitors, days);
    if (cluster !== undefined) candidates.push(this.candidateOf('MERCHANT', merchantId, merchantId, m.city, cluster, notice.time));
  }

  private candidateOf(subjectType: ClusterCandidate['subjectType'], subjectId: string, merchantId: string, city: string, c: Cluster, time: number): ClusterCandidate {
    return {
      subjectType, subjectId, merchantId, city, time,
      windowStart: c.from * DAY_MS,
      windowEnd: (c.from + c.days) * DAY_MS,
      visits: c.n,
      compromisedVisits: c.compromisedVisits,
      cards: [...c.cards.keys()].sort(),
      evidenceEventIds: [...c.cards.values()].sort(),
      referenceVisits: c.referenceVisits,
      referenceCompromisedVisits: c.referenceCards.length,
      referenceCards: c.referenceCards,
    };
  }

  disputed(notice: DisputeNotice, verdicts: Verdict[]): void {
    const m = this.merchant(notice.merchantId);
    const terminal = this.terminal(m, notice.terminalId);
    const entry = terminal.disputes.get(notice.cardToken) ?? { eventIds: [], first: notice.eventTime, last: notice.eventTime };
    if (!entry.eventIds.includes(notice.eventId)) entry.eventIds.push(notice.eventId);
    entry.first = Math.min(entry.first, notice.eventTime);
    entry.last = Math.max(entry.last, notice.eventTime);
    terminal.disputes.set(notice.cardToken, entry);

    this.pointOfFraud('TERMINAL', notice.terminalId, m, [terminal], terminal.visitors, notice, verdicts);
    this.pointOfFraud('MERCHANT', notice.merchantId, m, [...m.terminals.values()], m.visitors, notice, verdicts);
  }

  private pointOfFraud(subjectType: Extract<SubjectType, 'TERMINAL' | 'MERCHANT'>, subjectId: string, m: MerchantRecord, terminals: TerminalRecord[],
    visitors: Map<number, Set<string> | number>, notice: DisputeNotice, verdicts: Verdict[]): void {
    const key = `pof:${subjectType}:${subjectId}`;
    if (notice.time < (m.suppressedUntil.get(key) ?? Number.NEGATIVE_INFINITY)) return;
    const horizon = notice.eventTime - this.t.pointOfFraudWindowDays * DAY_MS;
    const byCard = new Map<string, DisputedCard>();
    for (const t of terminals) {
      for (const [card, d] of t.disputes) {
        if (d.last < horizon) continue;
        const merged = byCard.get(card) ?? { eventIds: [], first: d.first, last: d.last };
        merged.eventIds.push(...d.eventIds);
        merged.first = Math.min(merged.first, d.first);
        merged.last = Math.max(merged.last, d.last);
        byCard.set(card, merged);
      }
    }
    const k = byCard.size;
    if (k < this.t.pointOfFraudMinCards) return;
    const disputes = [...byCard.values()];
    const first = Math.min(...disputes.map((d) => d.first));
    const last = Math.max(...disputes.map((d) => d.last));
    const n = Math.max(k, countVisitors(visitors, dayOf(first), dayOf(last)));
    // The period is drawn around the disputes themselves, so it is the likeliest-looking one of all
    // the periods of its length the window holds: the p-value counts each of them (a scan statistic).
    const disputedDays = dayOf(last) - dayOf(first) + 1;
    const periods = Math.max(1, this.t.pointOfFraudWindowDays / disputedDays);
    const p = Math.min(1, binomialTail(n, k, this.t.disputeBaseRate) * periods);
    if (p >= this.t.pointOfFraudAlpha) return;
    m.suppressedUntil.set(key, notice.time + this.t.pointOfFraudWindowDays * DAY_MS);
    const evidence = disputes.flatMap((d) => d.eventIds).sort();
    verdicts.push({
      detector: SKIMMING_CLUSTER,
      detectorVersion: SKIMMING_CLUSTER_VERSION,
      subjectType,
      subjectId,
      windowStart: dayOf(first) * DAY_MS,
      windowEnd: (dayOf(last) + 1) * DAY_MS,
      score: Math.min(0.99, 0.6 + Math.min(0.39, -Math.log10(Math.max(p, 1e-300)) / 40)),
      evidenceEventIds: evidence,
      reasonCodes: ['POINT_OF_FRAUD'],
      explanation: `${subjectType === 'TERMINAL' ? 'Terminal' : 'Merchant'} ${subjectId} is a probable point of fraud: ${k} different cardholders disputed ` +
        `${evidence.length} of its transactions made between ${fmt.date(first).slice(0, 10)} and ${fmt.date(last).slice(0, 10)}, among ${fmt.int(n)} card visits ` +
        `(${fmt.dec(n * this.t.disputeBaseRate)} expected; p = ${p.toExponential(1)}` +
        `${periods > 1 ? `, counted over the ${fmt.dec(periods)} periods of ${disputedDays} days a ${this.t.pointOfFraudWindowDays}-day window holds` : ''}).`,
      measurements: { distinctDisputingCards: k, disputedTransactions: evidence.length, cardVisitsInPeriod: n, periodsInWindow: periods, pValue: p },
      detectedAt: notice.time,
    });
  }

  evict(now: number): void {
    const horizon = now - (this.horizonDays + 30) * DAY_MS;
    for (const [id, m] of this.merchants) if (m.lastSeen < horizon) this.merchants.delete(id);
  }
}
