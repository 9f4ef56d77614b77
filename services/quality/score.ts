/**
 * Detection quality at the subject level: a labelled subject is found when a detector of its
 * family alerted on that subject; an alerted subject is a true positive when some scenario
 * labelled it as defrauded, for any family (an alert on a card that truly was defrauded is not a
 * false alarm, whichever detector raised it).
 */
import type { FraudAlert } from '../core/records.ts';
import type { Family, TruthSubject } from '../generator/stream.ts';

/** Which family each detector reports for. */
export const familyOfDetector: Readonly<Record<string, Family | undefined>> = {
  'skimming-cluster': 'skimming-cluster',
  'terminal-compromise': 'skimming-cluster',
  'cloned-card': 'cloned-card',
  'laundering-cashout': 'laundering-cashout',
  'card-testing': 'card-testing',
  'card-behaviour': 'account-takeover',
  'card-amount': 'account-takeover',
};

export interface FamilyScore {
  readonly family: Family;
  readonly labelledSubjects: number;
  readonly found: number;
  readonly alertedSubjects: number;
  readonly truePositives: number;
  readonly recall: number;
  readonly precision: number;
  /** Median hours from the start of a compromise to its first alert, over found subjects. */
  readonly medianHoursToAlert: number | null;
  readonly missed: readonly string[];
  readonly falsePositives: readonly string[];
}

const subjectKey = (subjectType: string, subjectId: string) => `${subjectType}:${subjectId}`;

export function scoreAlerts(alerts: readonly FraudAlert[], truth: readonly TruthSubject[]): FamilyScore[] {
  const families: Family[] = ['skimming-cluster', 'cloned-card', 'laundering-cashout', 'card-testing', 'account-takeover'];
  const defrauded = new Set(truth.map((t) => subjectKey(t.subjectType, t.subjectId)));
  // A cash-out pair names the card too: an alert on that card is not a false alarm.
  for (const t of truth) if (t.subjectType === 'CARD_MERCHANT') defrauded.add(subjectKey('CARD', t.subjectId.split('|')[0]!));
  return families.map((family) => {
    const labelled = new Map<string, number>();
    for (const t of truth) {
      if (t.family !== family) continue;
      const key = subjectKey(t.subjectType, t.subjectId);
      labelled.set(key, Math.min(labelled.get(key) ?? Number.POSITIVE_INFINITY, t.compromisedAt));
    }
    const firstAlert = new Map<string, number>();
    for (const alert of alerts) {
      if (familyOfDetector[alert.detector] !== family) continue;
      const key = subjectKey(alert.subjectType, alert.subjectId);
      firstAlert.set(key, Math.min(firstAlert.get(key) ?? Number.POSITIVE_INFINITY, alert.detectedAt));
    }
    const found = [...labelled.keys()].filter((k) => firstAlert.has(k));
    const truePositives = [...firstAlert.keys()].filter((k) => defrauded.has(k));
    const delays = found.map((k) => (firstAlert.get(k)! - labelled.get(k)!) / 3_600_000).sort((a, b) => a - b);
    return {
      family,
      labelledSubjects: labelled.size,
      found: found.length,
      alertedSubjects: firstAlert.size,
      truePositives: truePositives.length,
      recall: labelled.size === 0 ? 1 : found.length / labelled.size,
      precision: firstAlert.size === 0 ? 1 : truePositives.length / firstAlert.size,
      medianHoursToAlert: delays.length === 0 ? null : delays[Math.floor((delays.length - 1) / 2)]!,
      missed: [...labelled.keys()].filter((k) => !firstAlert.has(k)).sort(),
      falsePositives: [...firstAlert.keys()].filter((k) => !defrauded.has(k)).sort(),
    };
  });
}
