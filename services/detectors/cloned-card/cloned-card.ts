/**
 * Cloned card, subject CARD. In event-time order per card it watches for:
 *   IMPOSSIBLE_TRAVEL   two in-person uses further apart than anyone travels in the time between
 *                       them: by road or rail (groundSpeedKmh), or by air (maxSpeedKmh in the air
 *                       plus flightOverheadMinutes for airports), whichever is faster
 *   OVERLAPPING_USE     in-person uses at two merchants within overlapSeconds, too far apart to walk
 *   ATC_REPLAY          a chip counter at or below one the card already used
 *   ATC_JUMP            a chip counter far above the last one
 *   CHIP_CARD_READ_WITHOUT_CHIP  stripe or fallback reads of a chip card at chip terminals of
 *                       fallbackMerchantsToAlert different merchants within fallbackWindowDays
 *   AFTER_LOST_STOLEN   in-person use after the card was reported lost or stolen
 * One verdict per card per episode (clonedCardSuppressionDays).
 *
 * State per card: the last in-person use, the highest counter, recent stripe reads, the
 * lost/stolen time: well under 1 KiB.
 */
import { DAY_MS, distanceKm } from '../../core/geo.ts';
import type { EnrichedAuthorisation } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import { isInPersonUse } from '../kernel/in-person.ts';
import type { Thresholds } from '../thresholds.ts';

export const CLONED_CARD = 'cloned-card';
export const CLONED_CARD_VERSION = '1.1.0';

interface PresentUse {
  readonly eventId: string;
  readonly time: number;
  readonly latitude: number;
  readonly longitude: number;
  readonly merchantId: string;
  readonly place: string;
}

export interface ClonedCardState {
  lastPresent: PresentUse | null;
  maxAtc: number | null;
  maxAtcEventId: string | null;
  stripeReads: { eventId: string; time: number; merchantId: string }[];
  lostStolenAt: number | null;
  suppressedUntil: number;
}

export function initialClonedCardState(): ClonedCardState {
  return { lastPresent: null, maxAtc: null, maxAtcEventId: null, stripeReads: [], lostStolenAt: null, suppressedUntil: Number.NEGATIVE_INFINITY };
}

/** Where an in-person use happened: the terminal's own report, else its registered place, else the merchant's. */
function placeOf(e: EnrichedAuthorisation): { latitude: number; longitude: number; place: string } | undefined {
  const a = e.authorisation;
  const where = e.merchant?.city ?? 'an unknown place';
  if (a.latitude !== null && a.longitude !== null) return { latitude: a.latitude, longitude: a.longitude, place: where };
  if (e.terminal !== null) return { latitude: e.terminal.latitude, longitude: e.terminal.longitude, place: where };
  if (e.merchant !== null) return { latitude: e.merchant.latitude, longitude: e.merchant.longitude, place: where };
  return undefined;
}

export function lostOrStolen(state: ClonedCardState, reportedAt: number): void {
  if (state.lostStolenAt === null || reportedAt < state.lostStolenAt) state.lostStolenAt = reportedAt;
}

/** Evolves the card's state with one authorisation; returns a verdict when the card looks cloned. */
export function evolveClonedCard(state: ClonedCardState, e: EnrichedAuthorisation, t: Thresholds): Verdict | undefined {
  const a = e.authorisation;
  const reasons: string[] = [];
  const evidence: string[] = [];
  const measurements: Record<string, number> = {};
  const sentences: string[] = [];
  let windowStart = a.eventTime;
  const inPerson = isInPersonUse(e);

  const place = inPerson ? placeOf(e) : undefined;
  const last = state.lastPresent;
  if (place !== undefined && last !== null && last.eventId !== a.eventId) {
    const km = distanceKm(last.latitude, last.longitude, place.latitude, place.longitude);
    const hours = Math.max(0, a.eventTime - last.time) / 3_600_000;
    const speed = hours === 0 ? Number.POSITIVE_INFINITY : km / hours;
    const [groundHours, flightHours] = [km / t.groundSpeedKmh, t.flightOverheadMinutes / 60 + km / t.maxSpeedKmh];
    const fastestTripHours = Math.min(groundHours, flightHours);
    if (km >= t.minTravelDistanceKm && hours < fastestTripHours) {
      reasons.push('IMPOSSIBLE_TRAVEL');
      evidence.push(last.eventId, a.eventId);
      windowStart = Math.min(windowStart, last.time);
      measurements.distanceKm = km;
      measurements.minutesApart = hours * 60;
      measurements.speedKmh = Number.isFinite(speed) ? speed : 1e9;
      measurements.fastestTripMinutes = fastestTripHours * 60;
      sentences.push(`used in person in ${last.place} and ${place.place} ${fmt.int(km)} km apart within ${fmt.int(hours * 60)} minutes ` +
        `(${Number.isFinite(speed) ? `${fmt.int(speed)} km/h` : 'at the same moment'}; the fastest trip, ${groundHours <= flightHours
          ? `by road or rail at ${fmt.int(t.groundSpeedKmh)} km/h` : `by air with ${fmt.int(t.flightOverheadMinutes)} minutes of airports`}, takes ${fmt.int(fastestTripHours * 60)} minutes)`);
    } else if (a.eventTime - last.time <= t.overlapSeconds * 1000 && last.merchantId !== a.merchantId && km >= t.overlapMinDistanceKm) {
      reasons.push('OVERLAPPING_USE');
      evidence.push(last.eventId, a.eventId);
      windowStart = Math.min(windowStart, last.time);
      measurements.distanceKm = km;
      measurements.secondsApart = (a.eventTime - last.time) / 1000;
      sentences.push(`used at two merchants ${fmt.dec(km)} km apart ${fmt.int((a.eventTime - last.time) / 1000)} seconds apart`);
    }
  }

  if (a.atc !== null) {
    if (state.maxAtc !== null && a.atc <= state.maxAtc) {
      reasons.push('ATC_REPLAY');
      evidence.push(a.eventId);
      if (state.maxAtcEventId !== null) evidence.push(state.maxAtcEventId);
      measurements.atc = a.atc;
      measurements.highestAtcSeen = state.maxAtc;
      sentences.push(`chip counter ${a.atc} repeats or goes back below ${state.maxAtc} already used`);
    } else if (state.maxAtc !== null && a.atc - state.maxAtc > t.atcJumpLimit) {
      reasons.push('ATC_JUMP');
      evidence.push(a.eventId);
      measurements.atcJump = a.atc - state.maxAtc;
      sentences.push(`chip counter jumped by ${fmt.int(a.atc - state.maxAtc)} (limit ${fmt.int(t.atcJumpLimit)})`);
    }
    if (state.maxAtc === null || a.atc > state.maxAtc) {
      state.maxAtc = a.atc;
      state.maxAtcEventId = a.eventId;
    }
  }

  if (e.features.chipCardReadWithoutChip) {
    const horizon = a.eventTime - t.fallbackWindowDays * DAY_MS;
    state.stripeReads = state.stripeReads.filter((r) => r.time >= horizon);
    state.stripeReads.push({ eventId: a.eventId, time: a.eventTime, merchantId: a.merchantId });
    const merchants = new Set(state.stripeReads.map((r) => r.merchantId));
    if (merchants.size >= t.fallbackMerchantsToAlert) {
      reasons.push('CHIP_CARD_READ_WITHOUT_CHIP');
      evidence.push(...state.stripeReads.map((r) => r.eventId));
      windowStart = Math.min(windowStart, state.stripeReads[0]!.time);
      measurements.stripeReadsOfChipCard = state.stripeReads.length;
      measurements.merchantsWithStripeReads = merchants.size;
      sentences.push(`chip card read by stripe or fallback ${state.stripeReads.length} times at ${merchants.size} merchants within ${t.fallbackWindowDays} days`);
    }
  }

  if (inPerson && state.lostStolenAt !== null && a.eventTime > state.lostStolenAt) {
    reasons.push('AFTER_LOST_STOLEN');
    evidence.push(a.eventId);
    measurements.hoursAfterReport = (a.eventTime - state.lostStolenAt) / 3_600_000;
    sentences.push(`used in person ${fmt.dec((a.eventTime - state.lostStolenAt) / 3_600_000)} hours after it was reported lost or stolen`);
  }

  if (place !== undefined) {
    state.lastPresent = { eventId: a.eventId, time: a.eventTime, latitude: place.latitude, longitude: place.longitude, merchantId: a.merchantId, place: place.place };
  }

  if (reasons.length === 0 || a.eventTime < state.suppressedUntil) return undefined;
  state.suppressedUntil = a.eventTime + t.clonedCardSuppressionDays * DAY_MS;
  const score = Math.min(0.99, 0.7 + 0.1 * reasons.length);
  return {
    detector: CLONED_CARD,
    detectorVersion: CLONED_CARD_VERSION,
    subjectType: 'CARD',
    subjectId: a.cardToken,
    windowStart,
    windowEnd: a.eventTime,
    score,
    evidenceEventIds: [...new Set(evidence)],
    reasonCodes: reasons,
    explanation: `Card ${a.bin}…${a.last4} looks cloned: ${sentences.join('; ')}.`,
    measurements,
    detectedAt: a.eventTime,
  };
}
