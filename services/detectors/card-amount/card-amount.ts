/**
 * Card amount, subject CARD: what a card's own amounts say, one purchase at a time, weighed by what
 * this stream's confirmed outcomes say such purchases turn out to be.
 *   AMOUNT_FAR_ABOVE_CARD_USUAL        approved purchases far above anything this card pays: more
 *                                      than `cardAmountFarSpreads` standard deviations above its
 *                                      mean purchase and `cardAmountFarTimes` times that mean, once
 *                                      the card has `cardAmountMinPurchases` purchases behind it
 *   REPEATED_UNUSUAL_AMOUNTS_FOR_CARD  unusual purchases (`cardAmountUnusualSpreads` deviations and
 *                                      `cardAmountUnusualTimes` times its mean, and above its habit
 *                                      for the kind as card-behaviour counts it,
 *                                      `cardProfileHighSpreads`) over days: a stolen card spent once
 *                                      a day, low and slow, never a burst
 *
 * Card-behaviour judges each purchase against the card's habit for its kind of purchase and needs a
 * burst; this detector judges the plain amount against every purchase the card made (mean and
 * deviation of amounts, not log-amounts: a card whose purchases vary a lot has a wide deviation),
 * so a purchase several times what the card ever pays, at its usual kind of shop and hour with the
 * chip present, is still seen.
 *
 * Whether such a purchase is fraud depends on the stream: where card holders' own bills are steady,
 * one far above them is almost always somebody else; where they buy a television now and then, it
 * is a television. So the detector learns, per card shard, what share of the far (and of the
 * unusual) purchases an outcome confirmed as fraud within `cardAmountLabelMaturityDays`, shrunk
 * toward `cardAmountPriorPrecision` by `cardAmountPriorPurchases` pseudo-purchases, and raises a
 * verdict when the card's pending purchases make it likely enough that at least one is fraud (each
 * taken at its kind's measured share: 1 − Π(1 − share) ≥ `cardAmountAlertProbability`). Until
 * outcomes have shown a kind to be fraud more often than not, it raises nothing on it alone.
 *
 * An unusual purchase is not learned into the card's amounts while it may still belong to a
 * pattern: it becomes habit once it leaves `cardAmountRepeatWindowDays` without a verdict, so a
 * thief spending every day cannot teach the card his amounts. Purchases a verdict named are never
 * learned.
 *
 * State per card: three numbers and at most `maxPendingPurchases` pending purchases (~60 B each);
 * per shard: the far and unusual purchases of the last `cardAmountLabelMaturityDays` (~60 B each).
 */
import { DAY_MS } from '../../core/geo.ts';
import { APPROVED, type EnrichedAuthorisation } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import { learn, type LogAmountStatistics } from '../kernel/statistics.ts';
import type { PurchaseHabit } from '../card-behaviour/card-behaviour.ts';
import type { Thresholds } from '../thresholds.ts';

export const CARD_AMOUNT = 'card-amount';
export const CARD_AMOUNT_VERSION = '1.0.0';

/** Unusual purchases held out of the card's amounts at most; the oldest is learned first beyond it. */
const maxPendingPurchases = 16;

type Signal = 'far' | 'unusual';

/** An unusual purchase not yet learned. */
interface PendingPurchase {
  readonly eventId: string;
  readonly time: number;
  readonly amountMinor: number;
  readonly currency: string;
  readonly signal: Signal;
}

export interface CardAmountState {
  /** The card's approved purchases' amounts (minor units), the last `cardAmountMemory` weighing most. */
  readonly amounts: LogAmountStatistics;
  readonly pending: PendingPurchase[];
  suppressedUntil: number;
}

export function initialCardAmountState(): CardAmountState {
  return { amounts: { n: 0, mean: 0, variance: 0 }, pending: [], suppressedUntil: Number.NEGATIVE_INFINITY };
}

/** What outcomes said of one kind of signal so far: purchases whose label matured, and the fraudulent ones among them. */
interface SignalRecord {
  purchases: number;
  fraud: number;
}

/** A far or unusual purchase waiting for its label (fraud if an outcome disputes it in time). */
interface Unlabelled {
  readonly eventId: string;
  readonly time: number;
  readonly signal: Signal;
  disputed: boolean;
}

/**
 * Per card shard: how often far and unusual purchases turned out to be fraud. Labels respect the
 * outcome delay: a purchase counts once `cardAmountLabelMaturityDays` of event time have passed
 * since it, as fraud when an outcome reported by then disputed it.
 */
export class AmountSignalOutcomes {
  private readonly shards = new Map<number, { readonly records: Record<Signal, SignalRecord>; readonly waiting: Unlabelled[]; readonly byEventId: Map<string, Unlabelled> }>();

  private shard(shard: number) {
    let s = this.shards.get(shard);
    if (s === undefined) {
      s = { records: { far: { purchases: 0, fraud: 0 }, unusual: { purchases: 0, fraud: 0 } }, waiting: [], byEventId: new Map() };
      this.shards.set(shard, s);
    }
    return s;
  }

  /** The share of `signal` purchases confirmed as fraud, shrunk toward the prior, as of `now` (labels matured by then). */
  share(shard: number, signal: Signal, now: number, t: Thresholds): number {
    const s = this.shard(shard);
    const horizon = now - t.cardAmountLabelMaturityDays * DAY_MS;
    while (s.waiting.length > 0 && s.waiting[0]!.time <= horizon) {
      const u = s.waiting.shift()!;
      s.byEventId.delete(u.eventId);
      s.records[u.signal].purchases++;
      if (u.disputed) s.records[u.signal].fraud++;
    }
    const r = s.records[signal];
    return (r.fraud + t.cardAmountPriorPrecision * t.cardAmountPriorPurchases) / (r.purchases + t.cardAmountPriorPurchases);
  }

  /** Matured purchases of `signal` and the fraudulent ones, for explanations. */
  record(shard: number, signal: Signal): Readonly<SignalRecord> {
    return this.shard(shard).records[signal];
  }

  watch(shard: number, eventId: string, time: number, signal: Signal): void {
    const s = this.shard(shard);
    const u: Unlabelled = { eventId, time, signal, disputed: false };
    s.waiting.push(u);
    s.byEventId.set(eventId, u);
  }

  /** An outcome reported at `reportedAt` disputed `eventId`: fraud, if the purchase is still waiting for its label. */
  disputed(shard: number, eventId: string, reportedAt: number, t: Thresholds): void {
    const u = this.shard(shard).byEventId.get(eventId);
    if (u !== undefined && reportedAt <= u.time + t.cardAmountLabelMaturityDays * DAY_MS) u.disputed = true;
  }
}

/** How far one amount is above the card's usual ones. */
interface Departure {
  readonly deviations: number;
  readonly times: number;
}

/**
 * Takes an authorisation of the card. `habit`: what card-behaviour's profile said of it (undefined
 * when it did not take it); `outcomes`: the card's shard's learned shares.
 */
export function evolveCardAmount(
  state: CardAmountState, outcomes: AmountSignalOutcomes, shard: number, habit: PurchaseHabit | undefined, e: EnrichedAuthorisation, t: Thresholds,
): Verdict | undefined {
  const a = e.authorisation;
  if (a.transactionType !== 'PURCHASE' || a.responseCode !== APPROVED || a.amountMinor <= 0) return undefined;
  learnPast(state, a.eventTime - t.cardAmountRepeatWindowDays * DAY_MS, t);
  const s = state.amounts;
  const signal = s.n < t.cardAmountMinPurchases ? undefined : signalOf(s, habit, a.amountMinor, t);
  if (signal === undefined) {
    learn(s, a.amountMinor, t.cardAmountMemory);
    return undefined;
  }
  outcomes.watch(shard, a.eventId, a.eventTime, signal);
  if (a.eventTime < state.suppressedUntil) return undefined; // part of an episode already raised: never learned
  if (state.pending.length >= maxPendingPurchases) learn(s, state.pending.shift()!.amountMinor, t.cardAmountMemory);
  state.pending.push({ eventId: a.eventId, time: a.eventTime, amountMinor: a.amountMinor, currency: a.currency, signal });
  const shares = { far: outcomes.share(shard, 'far', a.eventTime, t), unusual: outcomes.share(shard, 'unusual', a.eventTime, t) };
  let genuine = 1;
  for (const p of state.pending) genuine *= 1 - shares[p.signal];
  if (1 - genuine < t.cardAmountAlertProbability) return undefined;
  state.suppressedUntil = a.eventTime + t.cardAmountSuppressionDays * DAY_MS;
  const evidence = [...state.pending];
  state.pending.length = 0;
  return verdict(s, e, evidence, 1 - genuine, { far: outcomes.record(shard, 'far'), unusual: outcomes.record(shard, 'unusual') }, t);
}

function signalOf(s: LogAmountStatistics, habit: PurchaseHabit | undefined, amountMinor: number, t: Thresholds): Signal | undefined {
  const d: Departure = { deviations: (amountMinor - s.mean) / Math.max(Math.sqrt(s.variance), 1), times: amountMinor / s.mean };
  if (d.deviations >= t.cardAmountFarSpreads && d.times >= t.cardAmountFarTimes) return 'far';
  if (d.deviations >= t.cardAmountUnusualSpreads && d.times >= t.cardAmountUnusualTimes && (habit?.spreads ?? 0) >= t.cardProfileHighSpreads) return 'unusual';
  return undefined;
}

/** Unusual purchases that left the repeat window without a verdict become the card's habit. */
function learnPast(state: CardAmountState, from: number, t: Thresholds): void {
  while (state.pending.length > 0 && state.pending[0]!.time <= from) learn(state.amounts, state.pending.shift()!.amountMinor, t.cardAmountMemory);
}

function verdict(
  s: LogAmountStatistics, e: EnrichedAuthorisation, pending: readonly PendingPurchase[], probability: number,
  records: Readonly<Record<Signal, SignalRecord>>, t: Thresholds,
): Verdict {
  const a = e.authorisation;
  const far = pending.filter((p) => p.signal === 'far').length;
  const days = new Set(pending.map((p) => Math.floor(p.time / DAY_MS))).size;
  const largest = pending.reduce((m, p) => (p.amountMinor > m.amountMinor ? p : m));
  const examples = pending.slice(-3).map((p) => `${fmt.money(p.amountMinor, p.currency)} on ${fmt.date(p.time)}`);
  const shareOf = (r: SignalRecord, what: string) =>
    `${fmt.int(r.fraud)} of ${fmt.int(r.purchases)} ${what} whose outcomes are known were confirmed fraud`;
  return {
    detector: CARD_AMOUNT,
    detectorVersion: CARD_AMOUNT_VERSION,
    subjectType: 'CARD',
    subjectId: a.cardToken,
    windowStart: pending[0]!.time,
    windowEnd: a.eventTime,
    score: Math.min(0.95, probability),
    evidenceEventIds: pending.map((p) => p.eventId),
    reasonCodes: [...(far > 0 ? ['AMOUNT_FAR_ABOVE_CARD_USUAL'] : []), ...(far < pending.length ? ['REPEATED_UNUSUAL_AMOUNTS_FOR_CARD'] : [])],
    explanation: `Card ${a.bin}…${a.last4} made ${pending.length === 1 ? 'a purchase' : `${pending.length} purchases on ${days} days`} far from what it usually pays ` +
      `(${fmt.money(Math.round(s.mean), a.currency)} ± ${fmt.money(Math.round(Math.sqrt(s.variance)), a.currency)} over ${s.n} purchases): ` +
      `${examples.join(', ')}${pending.length > 3 ? ', …' : ''}; ${far === pending.length ? (far === 1 ? 'it is' : 'all are') : `${far} of them are`} over ${t.cardAmountFarTimes} times its usual purchase and ` +
      `${t.cardAmountFarSpreads} deviations above it. On this stream ${shareOf(records.far, 'purchases that far above their card\'s usual')}, ` +
      `and ${shareOf(records.unusual, `less far ones (over ${t.cardAmountUnusualTimes} times)`)}: ` +
      `a ${fmt.pct(probability)} chance that at least one of these is fraud (limit ${fmt.pct(t.cardAmountAlertProbability)}).`,
    measurements: {
      farPurchases: far, unusualPurchases: pending.length - far, days, probability, largestAmountMinor: largest.amountMinor,
      usualAmountMinor: s.mean, deviationMinor: Math.sqrt(s.variance), purchasesLearned: s.n,
      farConfirmed: records.far.fraud, farKnown: records.far.purchases, unusualConfirmed: records.unusual.fraud, unusualKnown: records.unusual.purchases,
    },
    detectedAt: a.eventTime,
  };
}
