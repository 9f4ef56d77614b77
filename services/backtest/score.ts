/**
 * Backtest scoring: how the detectors did against a stream's own confirmed outcomes — what fraud
 * teams ask before they change a rule. Pure: it takes what the stream said (authorisations,
 * outcomes) and what the detectors said (alerts), and counts.
 *
 * - Confirmed fraud: outcomes CONFIRMED_FRAUD, CHARGEBACK marked fraud-related, LOST_STOLEN, with
 *   the authorisations they dispute.
 * - A subject has confirmed fraud when a disputed authorisation was on that card, or happened at
 *   that terminal or merchant. Its fraud window runs from the first disputed authorisation to the
 *   last one plus the outcome delay (the time a report takes to arrive).
 * - A subject is found when an alert on it was detected inside its fraud window; an alert before
 *   the fraud began does not count. Precision is found subjects over all alerted subjects; alerted
 *   subjects with no confirmed fraud at all are listed apart.
 */
import { DAY_MS, HOUR_MS } from '../core/geo.ts';
import type { AuthorisationEvent, CardOutcome, FraudAlert, SubjectType } from '../core/records.ts';

export interface FraudWindow {
  readonly firstFraud: number;
  readonly lastFraud: number;
}

/** What the scorer keeps of an authorisation: where it happened. */
interface AuthorisationPlace {
  readonly time: number;
  readonly cardToken: string;
  readonly terminalId: string;
  readonly merchantId: string;
}

export const confirmsFraud = (o: CardOutcome): boolean =>
  o.kind === 'CONFIRMED_FRAUD' || o.kind === 'LOST_STOLEN' || (o.kind === 'CHARGEBACK' && o.fraudRelated);

const subjectKey = (type: SubjectType, id: string) => `${type}:${id}`;

/** Collects the confirmed fraud of a stream while it is read. */
export class ConfirmedFraud {
  private readonly places = new Map<string, AuthorisationPlace>();
  private readonly windows = new Map<string, { -readonly [K in keyof FraudWindow]: number }>();
  private readonly pending: CardOutcome[] = [];
  outcomesConfirmingFraud = 0;
  /** Disputed event ids that were not in the stream. */
  unknownDisputedEvents = 0;

  authorisation(a: AuthorisationEvent): void {
    this.places.set(a.eventId, { time: a.eventTime, cardToken: a.cardToken, terminalId: a.terminalId, merchantId: a.merchantId });
  }

  /** Every authorisation an outcome confirmed as fraud. */
  readonly fraudulentEventIds = new Set<string>();

  outcome(o: CardOutcome): void {
    if (!confirmsFraud(o)) return;
    this.pending.push(o);
    for (const eventId of o.disputedEventIds) this.fraudulentEventIds.add(eventId);
  }

  /** Subject → its fraud window (first disputed authorisation … last one), after the stream was read. */
  windowsBySubject(): ReadonlyMap<string, FraudWindow> {
    for (const o of this.pending.splice(0)) {
      this.outcomesConfirmingFraud++;
      if (o.disputedEventIds.length === 0) {
        // A card reported lost or stolen without naming transactions: the report itself marks the fraud.
        this.extend(subjectKey('CARD', o.cardToken), o.reportedAt);
        continue;
      }
      for (const eventId of o.disputedEventIds) {
        const place = this.places.get(eventId);
        if (place === undefined) {
          this.unknownDisputedEvents++;
          continue;
        }
        this.extend(subjectKey('CARD', place.cardToken), place.time);
        this.extend(subjectKey('TERMINAL', place.terminalId), place.time);
        this.extend(subjectKey('MERCHANT', place.merchantId), place.time);
      }
    }
    return this.windows;
  }

  private extend(key: string, time: number): void {
    const w = this.windows.get(key);
    if (w === undefined) this.windows.set(key, { firstFraud: time, lastFraud: time });
    else {
      w.firstFraud = Math.min(w.firstFraud, time);
      w.lastFraud = Math.max(w.lastFraud, time);
    }
  }
}

export interface ScoreRow {
  readonly subjectType: SubjectType;
  /** `*` for every detector together. */
  readonly detector: string;
  /** `*` for every reason code together. */
  readonly reasonCode: string;
  readonly subjectsWithConfirmedFraud: number;
  readonly alertedSubjects: number;
  readonly found: number;
  /** Alerted subjects that never had confirmed fraud. */
  readonly alertedWithoutFraud: number;
  readonly recall: number;
  readonly precision: number;
  /** Median hours from a found subject's first fraud to its first alert inside the window. */
  readonly medianHoursToAlert: number | null;
}

export interface BacktestScore {
  readonly outcomeDelayDays: number;
  readonly rows: readonly ScoreRow[];
}

const subjectTypes: readonly SubjectType[] = ['CARD', 'TERMINAL', 'MERCHANT'];

export function scoreBacktest(alerts: readonly FraudAlert[], windows: ReadonlyMap<string, FraudWindow>, outcomeDelayDays: number): BacktestScore {
  const delay = outcomeDelayDays * DAY_MS;
  const rows: ScoreRow[] = [];
  for (const subjectType of subjectTypes) {
    const confirmed = [...windows.keys()].filter((k) => k.startsWith(`${subjectType}:`)).length;
    const ofType = alerts.filter((a) => a.subjectType === subjectType);
    const groups = new Map<string, FraudAlert[]>([['*\u0000*', ofType]]);
    for (const alert of ofType) {
      for (const key of [`${alert.detector}\u0000*`, ...alert.reasonCodes.map((r) => `${alert.detector}\u0000${r}`)]) {
        let group = groups.get(key);
        if (group === undefined) groups.set(key, (group = []));
        if (group[group.length - 1] !== alert) group.push(alert);
      }
    }
    for (const key of [...groups.keys()].sort()) {
      const [detector, reasonCode] = key.split('\u0000') as [string, string];
      rows.push(scoreGroup(subjectType, detector, reasonCode, groups.get(key)!, windows, confirmed, delay));
    }
  }
  return { outcomeDelayDays, rows };
}

function scoreGroup(
  subjectType: SubjectType, detector: string, reasonCode: string, alerts: readonly FraudAlert[],
  windows: ReadonlyMap<string, FraudWindow>, confirmed: number, delay: number,
): ScoreRow {
  const firstInWindow = new Map<string, number>();
  const alerted = new Set<string>();
  let alertedWithoutFraud = 0;
  for (const alert of alerts) {
    const key = subjectKey(alert.subjectType, alert.subjectId);
    if (!alerted.has(key)) {
      alerted.add(key);
      if (!windows.has(key)) alertedWithoutFraud++;
    }
    const w = windows.get(key);
    if (w === undefined || alert.detectedAt < w.firstFraud || alert.detectedAt > w.lastFraud + delay) continue;
    firstInWindow.set(key, Math.min(firstInWindow.get(key) ?? Number.POSITIVE_INFINITY, alert.detectedAt));
  }
  const hours = [...firstInWindow].map(([key, at]) => (at - windows.get(key)!.firstFraud) / HOUR_MS).sort((a, b) => a - b);
  return {
    subjectType, detector, reasonCode,
    subjectsWithConfirmedFraud: confirmed,
    alertedSubjects: alerted.size,
    found: firstInWindow.size,
    alertedWithoutFraud,
    recall: confirmed === 0 ? 0 : firstInWindow.size / confirmed,
    precision: alerted.size === 0 ? 0 : firstInWindow.size / alerted.size,
    medianHoursToAlert: hours.length === 0 ? null : median(hours),
  };
}

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface AlertChanges {
  readonly detector: string;
  readonly base: number;
  readonly compared: number;
  readonly gained: readonly string[];
  readonly lost: readonly string[];
}

/** Per detector: alerts only the compared thresholds raise (gained) and only the base ones raise (lost), by alert id. */
export function compareAlerts(base: readonly FraudAlert[], compared: readonly FraudAlert[]): AlertChanges[] {
  const byDetector = (alerts: readonly FraudAlert[]) => {
    const m = new Map<string, Set<string>>();
    for (const a of alerts) {
      let ids = m.get(a.detector);
      if (ids === undefined) m.set(a.detector, (ids = new Set()));
      ids.add(a.alertId);
    }
    return m;
  };
  const b = byDetector(base);
  const c = byDetector(compared);
  return [...new Set([...b.keys(), ...c.keys()])].sort().map((detector) => {
    const bi = b.get(detector) ?? new Set<string>();
    const ci = c.get(detector) ?? new Set<string>();
    return {
      detector, base: bi.size, compared: ci.size,
      gained: [...ci].filter((id) => !bi.has(id)).sort(),
      lost: [...bi].filter((id) => !ci.has(id)).sort(),
    };
  });
}
