/**
 * Transaction laundering and cash-out, subjects MERCHANT and CARD_MERCHANT.
 *
 * Per merchant, daily aggregates over a trailing window of merchantWindowDays, evaluated when the
 * stage's event time crosses midnight (`closeDay`), so always on complete days and identically in
 * every run mode. Each
 * signal compares a share or ratio to its threshold; a MERCHANT verdict needs merchantMinSignals:
 *   ROUND_AMOUNTS, BELOW_LIMIT_CLUSTER, OFF_HOURS, CARD_CONCENTRATION, TICKET_MISMATCH,
 *   MCC_MISMATCH, CARD_NOT_PRESENT_AT_CP_TERMINAL, HIGH_REFUND_RATIO, VOLUME_SPIKE.
 * Round amounts are not held against categories where they are normal (mcc-reference.ts).
 * CASH_OUT_PAIR: one card making cashOutPairMinPurchases large round or just-under-limit
 * purchases at the merchant within the window (subject cardToken|merchantId).
 * CASH_OUT_RING: cashOutRingMinCards cards making such pairs at one merchant within the window; a
 * MERCHANT verdict on its own (a busy shop dilutes every share, not a ring of cards).
 *
 * State per merchant: one small record per day of the window plus the previous three weeks'
 * counts, and per-card counters for the window: a few KiB for a busy merchant.
 */
import { DAY_MS, MINUTE_MS } from '../../core/geo.ts';
import { APPROVED, type EnrichedAuthorisation } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import type { Thresholds } from '../thresholds.ts';
import { amountLimitsMinor, mccReference } from './mcc-reference.ts';

export const LAUNDERING_CASHOUT = 'laundering-cashout';
export const LAUNDERING_CASHOUT_VERSION = '1.1.0';

interface Day {
  purchases: number;
  refunds: number;
  round: number;
  belowLimit: number;
  offHours: number;
  mccMismatch: number;
  cardNotPresent: number;
  amounts: number[];
  perCard: Map<string, CardDay>;
  /** The most purchases one card made that day. */
  busiestCardPurchases: number;
  suspiciousByCard: Map<string, string[]>;
}

/** One card's purchases at the merchant on one day, and the first few of their event ids (evidence). */
interface CardDay {
  purchases: number;
  readonly sampleEventIds: string[];
}

interface MerchantState {
  days: Map<number, Day>;
  registeredMcc: string | null;
  declaredTicket: number | null;
  suppressedUntil: number;
  pairSuppressedUntil: Map<string, number>;
  lastSeen: number;
  /** The currency of its latest authorisation: explanations show money the way the merchant is paid. */
  currency: string;
}

const dayOf = (time: number) => Math.floor(time / DAY_MS);
const newDay = (): Day => ({ purchases: 0, refunds: 0, round: 0, belowLimit: 0, offHours: 0, mccMismatch: 0, cardNotPresent: 0, amounts: [], perCard: new Map(), busiestCardPurchases: 0, suspiciousByCard: new Map() });

const isRound = (minor: number) => minor >= 10_000 && minor % 10_000 === 0;
const isBelowLimit = (minor: number) => amountLimitsMinor.some((limit) => minor >= limit * 0.98 && minor < limit);

/** The `count` cards with most purchases over the days, most first (ties by card token): no sort of every card. */
function mostFrequentCards(days: readonly Day[], count: number): [string, number][] {
  const perCard = new Map<string, number>();
  for (const d of days) for (const [card, { purchases }] of d.perCard) perCard.set(card, (perCard.get(card) ?? 0) + purchases);
  const top: [string, number][] = [];
  for (const [card, n] of perCard) {
    if (top.length === count && (n < top[count - 1]![1] || (n === top[count - 1]![1] && card > top[count - 1]![0]))) continue;
    let i = Math.min(top.length, count - 1);
    while (i > 0 && (n > top[i - 1]![1] || (n === top[i - 1]![1] && card < top[i - 1]![0]))) i--;
    top.splice(i, 0, [card, n]);
    if (top.length > count) top.pop();
  }
  return top;
}

/** The median purchase amount over the days (the upper one of an even count), sorted as numbers in a typed array. */
function medianAmount(days: readonly Day[], purchases: number): number {
  const amounts = new Float64Array(purchases);
  let i = 0;
  for (const d of days) for (const amount of d.amounts) amounts[i++] = amount;
  amounts.sort();
  return amounts[Math.floor(purchases / 2)]!;
}

export class LaunderingCashout {
  private readonly merchants = new Map<string, MerchantState>();

  constructor(private readonly t: Thresholds) {}

  /** Feeds one authorisation; a cash-out pair it completes is pushed to `verdicts`. */
  authorisation(e: EnrichedAuthorisation, verdicts: Verdict[]): void {
    const a = e.authorisation;
    let s = this.merchants.get(a.merchantId);
    const day = dayOf(a.eventTime);
    if (s === undefined) {
      s = { days: new Map(), registeredMcc: null, declaredTicket: null, suppressedUntil: Number.NEGATIVE_INFINITY, pairSuppressedUntil: new Map(), lastSeen: 0, currency: a.currency };
      this.merchants.set(a.merchantId, s);
    }
    if (e.merchant !== null) {
      s.registeredMcc = e.merchant.mcc;
      s.declaredTicket = e.merchant.expectedAverageTicketMinor;
    }
    s.lastSeen = a.eventTime;
    s.currency = a.currency;

    let bucket = s.days.get(day);
    if (bucket === undefined) {
      bucket = newDay();
      s.days.set(day, bucket);
    }
    if (a.transactionType === 'REFUND') {
      bucket.refunds++;
      return;
    }
    if (a.transactionType !== 'PURCHASE' || a.responseCode !== APPROVED) return;
    bucket.purchases++;
    bucket.amounts.push(a.amountMinor);
    let cardDay = bucket.perCard.get(a.cardToken);
    if (cardDay === undefined) {
      cardDay = { purchases: 0, sampleEventIds: [] };
      bucket.perCard.set(a.cardToken, cardDay);
    }
    if (++cardDay.purchases > bucket.busiestCardPurchases) bucket.busiestCardPurchases = cardDay.purchases;
    if (cardDay.sampleEventIds.length < 5) cardDay.sampleEventIds.push(a.eventId);
    const round = isRound(a.amountMinor);
    const belowLimit = isBelowLimit(a.amountMinor);
    if (round) bucket.round++;
    if (belowLimit) bucket.belowLimit++;
    if (e.features.outsideOpeningHours) bucket.offHours++;
    if (e.features.mccMismatch) bucket.mccMismatch++;
    if (e.features.cardNotPresentAtCardPresentTerminal) bucket.cardNotPresent++;

    if ((round || belowLimit) && a.amountMinor >= this.t.cashOutPairMinAmountMinor) {
      const list = bucket.suspiciousByCard.get(a.cardToken) ?? [];
      list.push(a.eventId);
      bucket.suspiciousByCard.set(a.cardToken, list);
      const pair = this.cashOutPair(a.cardToken, a.merchantId, s, day, a.eventTime, a.currency);
      if (pair !== undefined) verdicts.push(pair);
    }
  }

  private windowDays(s: MerchantState, lastDay: number): Day[] {
    const days: Day[] = [];
    for (let d = lastDay - this.t.merchantWindowDays + 1; d <= lastDay; d++) {
      const bucket = s.days.get(d);
      if (bucket !== undefined) days.push(bucket);
    }
    return days;
  }

  private cashOutPair(cardToken: string, merchantId: string, s: MerchantState, day: number, time: number, currency: string): Verdict | undefined {
    if (time < (s.pairSuppressedUntil.get(cardToken) ?? Number.NEGATIVE_INFINITY)) return undefined;
    const eventIds = this.windowDays(s, day).flatMap((d) => d.suspiciousByCard.get(cardToken) ?? []);
    if (eventIds.length < this.t.cashOutPairMinPurchases) return undefined;
    s.pairSuppressedUntil.set(cardToken, time + this.t.merchantSuppressionDays * DAY_MS);
    const windowStart = (day - this.t.merchantWindowDays + 1) * DAY_MS;
    return {
      detector: LAUNDERING_CASHOUT,
      detectorVersion: LAUNDERING_CASHOUT_VERSION,
      subjectType: 'CARD_MERCHANT',
      subjectId: `${cardToken}|${merchantId}`,
      windowStart,
      windowEnd: time,
      score: Math.min(0.95, 0.6 + 0.05 * eventIds.length),
      evidenceEventIds: eventIds,
      reasonCodes: ['CASH_OUT_PAIR'],
      explanation: `Card ${cardToken} made ${eventIds.length} large round or just-under-limit purchases at merchant ${merchantId} within ` +
        `${this.t.merchantWindowDays} days (from ${fmt.money(this.t.cashOutPairMinAmountMinor, currency)}): a classic cash-out pair.`,
      measurements: { suspiciousPurchases: eventIds.length, windowDays: this.t.merchantWindowDays },
      detectedAt: time,
    };
  }

  /**
   * Evaluates the window that ends with `lastDay`, once that day is complete. The two costly
   * signals (the median ticket, the most frequent cards) are worked out only when the verdict could
   * still reach `merchantMinSignals` with them: most merchants show no cheap signal, and their most
   * frequent cards cannot reach the share (bounded by each day's busiest card).
   */
  private evaluate(merchantId: string, s: MerchantState, lastDay: number): Verdict | undefined {
    const detectedAt = (lastDay + 1) * DAY_MS;
    if (detectedAt < s.suppressedUntil) return undefined;
    const days = this.windowDays(s, lastDay);
    const sum = (f: (d: Day) => number) => days.reduce((acc, d) => acc + f(d), 0);
    const purchases = sum((d) => d.purchases);
    if (purchases < this.t.merchantMinTransactions) return undefined;

    type Signal = { code: string; sentence: string; value: number };
    const share = (n: number) => n / purchases;
    const reference = s.registeredMcc === null ? undefined : mccReference[s.registeredMcc];
    const expected = reference?.medianTicketMinor ?? s.declaredTicket ?? undefined;

    let roundSignal: Signal | undefined;
    const round = share(sum((d) => d.round));
    if (round >= this.t.roundAmountShare && reference?.roundAmountsNormal !== true) {
      roundSignal = { code: 'ROUND_AMOUNTS', value: round, sentence: `${fmt.pct(round)} of purchases are whole hundreds (limit ${fmt.pct(this.t.roundAmountShare)})` };
    }
    let belowSignal: Signal | undefined;
    const below = share(sum((d) => d.belowLimit));
    if (below >= this.t.belowLimitShare) belowSignal = { code: 'BELOW_LIMIT_CLUSTER', value: below, sentence: `${fmt.pct(below)} of amounts sit just under a limit` };
    let offHoursSignal: Signal | undefined;
    const offHours = share(sum((d) => d.offHours));
    if (offHours >= this.t.offHoursShare) offHoursSignal = { code: 'OFF_HOURS', value: offHours, sentence: `${fmt.pct(offHours)} of purchases while registered closed` };
    const later: Signal[] = [];
    const mcc = share(sum((d) => d.mccMismatch));
    if (mcc >= this.t.mccMismatchShare) later.push({ code: 'MCC_MISMATCH', value: mcc, sentence: `${fmt.pct(mcc)} of messages carry an MCC other than the registered ${s.registeredMcc ?? '?'}` });
    const cnp = share(sum((d) => d.cardNotPresent));
    if (cnp >= this.t.cardNotPresentShare) later.push({ code: 'CARD_NOT_PRESENT_AT_CP_TERMINAL', value: cnp, sentence: `${fmt.pct(cnp)} keyed or e-commerce entries through card-present terminals` });
    const refunds = sum((d) => d.refunds) / purchases;
    if (refunds >= this.t.refundRatio) later.push({ code: 'HIGH_REFUND_RATIO', value: refunds, sentence: `${fmt.pct(refunds)} refunds to purchases` });
    let before = 0;
    for (let d = lastDay - 4 * this.t.merchantWindowDays + 1; d <= lastDay - this.t.merchantWindowDays; d++) before += s.days.get(d)?.purchases ?? 0;
    const trailingWeekly = before / 3;
    if (trailingWeekly > 0 && purchases >= this.t.volumeSpikeFactor * trailingWeekly && purchases >= 50) {
      later.push({ code: 'VOLUME_SPIKE', value: purchases / trailingWeekly, sentence: `${purchases} purchases in the week against ${fmt.int(trailingWeekly)} a week before` });
    }
    const suspicious = new Map<string, number>();
    for (const d of days) for (const [card, ids] of d.suspiciousByCard) suspicious.set(card, (suspicious.get(card) ?? 0) + ids.length);
    let ringCards = 0;
    for (const n of suspicious.values()) if (n >= this.t.cashOutPairMinPurchases) ringCards++;
    const ring = ringCards >= this.t.cashOutRingMinCards;
    if (ring) {
      later.push({ code: 'CASH_OUT_RING', value: ringCards, sentence: `${ringCards} cards each made at least ${this.t.cashOutPairMinPurchases} large round or just-under-limit purchases here (a cash-out ring)` });
    }

    const cheap = (roundSignal ? 1 : 0) + (belowSignal ? 1 : 0) + (offHoursSignal ? 1 : 0) + later.length;
    // Three cards make at most three times a day's busiest card's purchases that day.
    const topBound = share(sum((d) => Math.min(3 * d.busiestCardPurchases, d.purchases)));
    const concentrationPossible = topBound >= this.t.topCardsShare;
    if (!ring && cheap + (concentrationPossible ? 1 : 0) + (expected === undefined ? 0 : 1) < this.t.merchantMinSignals) return undefined;

    let concentrationSignal: Signal | undefined;
    let top: [string, number][] | undefined;
    if (concentrationPossible) {
      top = mostFrequentCards(days, 3);
      const topShare = share(top.reduce((acc, [, n]) => acc + n, 0));
      if (topShare >= this.t.topCardsShare) concentrationSignal = { code: 'CARD_CONCENTRATION', value: topShare, sentence: `its 3 most frequent cards made ${fmt.pct(topShare)} of purchases` };
    }
    const median = medianAmount(days, purchases);
    let ticketSignal: Signal | undefined;
    if (expected !== undefined) {
      const factor = median / expected;
      if (factor >= this.t.ticketMismatchFactor || factor <= 1 / this.t.ticketMismatchFactor) {
        ticketSignal = { code: 'TICKET_MISMATCH', value: factor, sentence: `median ticket ${fmt.money(median, s.currency)} is ${fmt.dec(factor)}× the ${fmt.money(expected, s.currency)} usual for ${reference?.label ?? 'its declared business'}` };
      }
    }
    const signals = [roundSignal, belowSignal, offHoursSignal, concentrationSignal, ticketSignal, ...later].filter((x): x is Signal => x !== undefined);

    if (signals.length < this.t.merchantMinSignals && !ring) return undefined;
    s.suppressedUntil = detectedAt + this.t.merchantSuppressionDays * DAY_MS;
    top ??= mostFrequentCards(days, 3);
    const evidence = [...new Set([...top.flatMap(([card]) => days.flatMap((d) => d.perCard.get(card)?.sampleEventIds ?? [])),
      ...days.flatMap((d) => [...d.suspiciousByCard.values()].flat())])].sort();
    const measurements: Record<string, number> = { purchases, medianTicketMinor: median };
    for (const sig of signals) measurements[sig.code] = sig.value;
    return {
      detector: LAUNDERING_CASHOUT,
      detectorVersion: LAUNDERING_CASHOUT_VERSION,
      subjectType: 'MERCHANT',
      subjectId: merchantId,
      windowStart: (lastDay - this.t.merchantWindowDays + 1) * DAY_MS,
      windowEnd: detectedAt,
      score: Math.min(0.99, 0.5 + 0.12 * signals.length),
      evidenceEventIds: evidence,
      reasonCodes: signals.map((x) => x.code),
      explanation: `Merchant ${merchantId} looks like ${signals.some((x) => ['MCC_MISMATCH', 'TICKET_MISMATCH', 'CARD_NOT_PRESENT_AT_CP_TERMINAL'].includes(x.code)) ? 'transaction laundering' : 'cash-out'} ` +
        `over the ${this.t.merchantWindowDays} days to ${fmt.date(detectedAt - MINUTE_MS).slice(0, 10)} (${purchases} purchases): ${signals.map((x) => x.sentence).join('; ')}.`,
      measurements,
      detectedAt,
    };
  }

  /**
   * The stage's event time reached `day`: evaluate, for every merchant active in the window, the
   * window that ends with the day before. Merchants in id order, so verdicts come out in one order.
   */
  closeDay(day: number, verdicts: Verdict[]): void {
    const since = (day - this.t.merchantWindowDays) * DAY_MS;
    for (const [id, s] of [...this.merchants.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      if (s.lastSeen < since) continue;
      const verdict = this.evaluate(id, s, day - 1);
      if (verdict !== undefined) verdicts.push(verdict);
      for (const d of s.days.keys()) if (d < day - 4 * this.t.merchantWindowDays) s.days.delete(d);
    }
  }

  evict(now: number): void {
    for (const [id, s] of this.merchants) if (s.lastSeen < now - 5 * this.t.merchantWindowDays * DAY_MS) this.merchants.delete(id);
  }
}
