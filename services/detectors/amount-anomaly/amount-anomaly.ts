/**
 * Amount anomaly (SPEC §3.4), subject CARD: a purchase far above the card's own usual ticket.
 * The baseline is a running mean of log-amounts of the card's approved purchases (the geometric
 * mean ticket): three numbers per card. One verdict per card per week.
 */
import { DAY_MS } from '../../core/geo.ts';
import type { EnrichedAuthorisation } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import type { Thresholds } from '../thresholds.ts';

export const AMOUNT_ANOMALY = 'amount-anomaly';
export const AMOUNT_ANOMALY_VERSION = '1.0.0';

export interface AmountBaseline {
  purchases: number;
  meanLogAmount: number;
  suppressedUntil: number;
}

export function initialAmountBaseline(): AmountBaseline {
  return { purchases: 0, meanLogAmount: 0, suppressedUntil: Number.NEGATIVE_INFINITY };
}

export function evolveAmountAnomaly(state: AmountBaseline, e: EnrichedAuthorisation, t: Thresholds): Verdict | undefined {
  const a = e.authorisation;
  if (a.transactionType !== 'PURCHASE' || a.amountMinor <= 0) return undefined;
  const usual = Math.exp(state.meanLogAmount);
  const multiple = a.amountMinor / usual;
  let verdict: Verdict | undefined;
  if (state.purchases >= t.amountAnomalyMinHistory && a.amountMinor >= t.amountAnomalyMinMinor && multiple >= t.amountAnomalyMultiple
    && a.eventTime >= state.suppressedUntil) {
    state.suppressedUntil = a.eventTime + t.clonedCardSuppressionDays * DAY_MS;
    verdict = {
      detector: AMOUNT_ANOMALY,
      detectorVersion: AMOUNT_ANOMALY_VERSION,
      subjectType: 'CARD',
      subjectId: a.cardToken,
      windowStart: a.eventTime,
      windowEnd: a.eventTime,
      score: Math.min(0.9, 0.4 + Math.log10(multiple) / 5),
      evidenceEventIds: [a.eventId],
      reasonCodes: ['AMOUNT_FAR_ABOVE_CARD_BASELINE'],
      explanation: `Card ${a.bin}…${a.last4} spent ${fmt.money(a.amountMinor, a.currency)}, ${fmt.int(multiple)} times its usual ` +
        `${fmt.money(Math.round(usual), a.currency)} over ${state.purchases} purchases (limit ${t.amountAnomalyMultiple}×).`,
      measurements: { amountMinor: a.amountMinor, usualAmountMinor: usual, multiple, purchasesInBaseline: state.purchases },
      detectedAt: a.eventTime,
    };
  }
  if (a.responseCode === '00' && verdict === undefined) {
    state.purchases++;
    state.meanLogAmount += (Math.log(a.amountMinor) - state.meanLogAmount) / Math.min(state.purchases, 50);
  }
  return verdict;
}
