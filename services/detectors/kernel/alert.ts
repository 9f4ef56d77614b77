/**
 * Builds verdicts. The alert id is a readable function of detector, subject (with its acquirer,
 * when the verdict is one acquirer's) and window start, so
 * the same input log gives the same ids in every run and mode. `emittedAt` is the only
 * wall-clock field: pure detectors set it to `detectedAt`, and the service shell stamps the real
 * time when it publishes (replay keeps `detectedAt`, so replay output is byte-identical).
 */
import type { FraudAlert, Severity, SubjectType } from '../../core/records.ts';
import { thresholdsVersion, type Thresholds } from '../thresholds.ts';

export interface Verdict {
  readonly detector: string;
  readonly detectorVersion: string;
  readonly subjectType: SubjectType;
  readonly subjectId: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly score: number;
  readonly evidenceEventIds: readonly string[];
  readonly reasonCodes: readonly string[];
  readonly explanation: string;
  readonly measurements: Readonly<Record<string, number>>;
  readonly detectedAt: number;
  /** Set when the verdict is about one acquirer's authorisations (a card as that acquirer saw it). */
  readonly acquirerId?: string;
}

/** The score bands of the severities (thresholds `alertCriticalScore`, `alertHighScore`, `alertMediumScore`). */
export interface SeverityBands {
  readonly alertCriticalScore: number;
  readonly alertHighScore: number;
  readonly alertMediumScore: number;
}

export function severityOf(score: number, bands: SeverityBands): Severity {
  if (score >= bands.alertCriticalScore) return 'CRITICAL';
  if (score >= bands.alertHighScore) return 'HIGH';
  if (score >= bands.alertMediumScore) return 'MEDIUM';
  return 'LOW';
}

/** Evidence lists are capped so one alert stays a readable record; the count is kept in measurements. */
export const MAX_EVIDENCE = 50;

/** The alert of a verdict, raised under the threshold set `t` (its severity bands and version). */
export function toAlert(v: Verdict, t: Thresholds): FraudAlert {
  const measurements: Record<string, number> = {};
  for (const key of Object.keys(v.measurements).sort()) measurements[key] = round(v.measurements[key]!);
  return {
    // Two acquirers' views of one card raise two alerts: the acquirer is part of the id.
    alertId: `${v.detector}:${v.subjectType}:${v.acquirerId === undefined ? '' : `${v.acquirerId}/`}${v.subjectId}:${v.windowStart}`,
    detector: v.detector,
    detectorVersion: v.detectorVersion,
    severity: severityOf(v.score, t),
    score: round(v.score),
    subjectType: v.subjectType,
    subjectId: v.subjectId,
    windowStart: v.windowStart,
    windowEnd: v.windowEnd,
    evidenceEventIds: v.evidenceEventIds.slice(0, MAX_EVIDENCE),
    reasonCodes: [...v.reasonCodes],
    explanation: v.explanation,
    measurements,
    detectedAt: v.detectedAt,
    emittedAt: v.detectedAt,
    acquirerId: v.acquirerId ?? null,
    thresholdsVersion: thresholdsVersion(t),
  };
}

/** Fixed precision keeps alerts and decisions byte-identical across platforms' last-bit float differences. */
export function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}

const numberFormat = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 1 });
/** One formatter for every amount: `toLocaleString` with options builds a new one per call, the cost of a decision. */
const moneyFormat = new Intl.NumberFormat('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** Below one, a decimal place can round an expectation to "0": two significant digits keep it readable. */
const twoSignificant = new Intl.NumberFormat('en-GB', { maximumSignificantDigits: 2 });

/** Human formatting for explanations: 6952 → "6,952"; 0.022 → "0.022"; money in minor units → "4,990.00". */
export const fmt = {
  int: (x: number) => numberFormat.format(x),
  dec: (x: number) => (x !== 0 && Math.abs(x) < 1 ? twoSignificant : oneDecimal).format(x),
  money: (minor: number, currency: string) => `${moneyFormat.format(minor / 100)} ${currency}`,
  pct: (share: number) => `${Math.round(share * 100)}%`,
  minutes: (ms: number) => `${Math.round(ms / 60_000)} min`,
  date: (time: number) => new Date(time).toISOString().slice(0, 16).replace('T', ' '),
};
