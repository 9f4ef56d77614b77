/**
 * Terminal compromise (precursor signals of a compromised terminal), subject TERMINAL. Within any 24 hours at one
 * terminal:
 *   UNKNOWN_TERMINAL   precursorMinEvents authorisations from a terminal id the registry never issued
 *   FIRMWARE_MISMATCH  precursorMinEvents authorisations reporting software the registry does not expect
 *   FALLBACK_SURGE     fallbackSurgeMinReads stripe reads of chip cards, at least fallbackSurgeMinShare of chip cards,
 *                      within fallbackSurgeWindowHours (not 24: a quiet till sees a few chip cards a day)
 *   MPOS_DISPLACED     precursorMinEvents uses of a mobile reader more than mposDisplacedKm from its registered place
 *   SECURITY_FAILURES  securityFailureBurst failed PIN or cryptogram checks within one hour
 * One verdict per terminal per 30 days. State: the flagged authorisations of the last day (of the
 * last fallbackSurgeWindowHours for chip reads), a few hundred bytes to a few KiB at a busy till.
 */
import { DAY_MS, HOUR_MS } from '../../core/geo.ts';
import type { EnrichedAuthorisation } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import { isInPersonUse } from '../kernel/in-person.ts';
import type { Thresholds } from '../thresholds.ts';

export const TERMINAL_COMPROMISE = 'terminal-compromise';
export const TERMINAL_COMPROMISE_VERSION = '1.1.0';

interface Mark {
  readonly time: number;
  readonly eventId: string;
}

interface TerminalSignals {
  unknown: Mark[];
  firmware: Mark[];
  stripeReads: Mark[];
  chipCardReads: Mark[];
  displaced: Mark[];
  securityFailures: Mark[];
  suppressedUntil: number;
  lastSeen: number;
}

/** ISO 8583 codes for failed security processing: wrong PIN, PIN tries exceeded, security violation, cryptogram failures. */
const securityFailureCodes = new Set(['55', '75', '63', '82', 'N7', '88']);

const keepSince = (marks: Mark[], since: number) => {
  let i = 0;
  while (i < marks.length && marks[i]!.time < since) i++;
  if (i > 0) marks.splice(0, i);
};

export class TerminalCompromise {
  private readonly terminals = new Map<string, TerminalSignals>();

  constructor(private readonly t: Thresholds) {}

  authorisation(e: EnrichedAuthorisation): Verdict | undefined {
    const a = e.authorisation;
    let s = this.terminals.get(a.terminalId);
    if (s === undefined) {
      s = { unknown: [], firmware: [], stripeReads: [], chipCardReads: [], displaced: [], securityFailures: [], suppressedUntil: Number.NEGATIVE_INFINITY, lastSeen: 0 };
      this.terminals.set(a.terminalId, s);
    }
    s.lastSeen = a.eventTime;
    const mark = { time: a.eventTime, eventId: a.eventId };
    const day = a.eventTime - DAY_MS;
    keepSince(s.unknown, day);
    keepSince(s.firmware, day);
    const surgeWindow = a.eventTime - this.t.fallbackSurgeWindowHours * HOUR_MS;
    keepSince(s.stripeReads, surgeWindow);
    keepSince(s.chipCardReads, surgeWindow);
    keepSince(s.displaced, day);
    keepSince(s.securityFailures, a.eventTime - HOUR_MS);

    if (e.features.unknownTerminal) s.unknown.push(mark);
    if (e.features.firmwareMismatch) s.firmware.push(mark);
    if (isInPersonUse(e) && a.cardChipCapable === true && e.terminal?.capabilities.chip === true) {
      s.chipCardReads.push(mark);
      if (e.features.chipCardReadWithoutChip) s.stripeReads.push(mark);
    }
    const mobile = e.terminal?.kind === 'MPOS' || e.terminal?.kind === 'SOFTPOS';
    if (mobile && e.features.distanceFromTerminalKm !== null && e.features.distanceFromTerminalKm > this.t.mposDisplacedKm) s.displaced.push(mark);
    if (securityFailureCodes.has(a.responseCode)) s.securityFailures.push(mark);

    if (a.eventTime < s.suppressedUntil) return undefined;
    const reasons: string[] = [];
    const sentences: string[] = [];
    const evidence: Mark[] = [];
    const measurements: Record<string, number> = {};
    if (s.unknown.length >= this.t.precursorMinEvents) {
      reasons.push('UNKNOWN_TERMINAL');
      evidence.push(...s.unknown);
      measurements.authorisationsFromUnknownTerminal = s.unknown.length;
      sentences.push(`${s.unknown.length} authorisations within 24 hours from a terminal id the registry never issued (merchant ${a.merchantId})`);
    }
    if (s.firmware.length >= this.t.precursorMinEvents) {
      reasons.push('FIRMWARE_MISMATCH');
      evidence.push(...s.firmware);
      measurements.authorisationsWithUnexpectedFirmware = s.firmware.length;
      sentences.push(`${s.firmware.length} authorisations within 24 hours reporting software ${a.terminalFirmwareHash ?? '?'} instead of the registered ${e.terminal?.firmwareHash ?? '?'}`);
    }
    const share = s.chipCardReads.length === 0 ? 0 : s.stripeReads.length / s.chipCardReads.length;
    if (s.stripeReads.length >= this.t.fallbackSurgeMinReads && share >= this.t.fallbackSurgeMinShare) {
      reasons.push('FALLBACK_SURGE');
      evidence.push(...s.stripeReads);
      measurements.stripeReadsOfChipCards = s.stripeReads.length;
      measurements.chipCardReads = s.chipCardReads.length;
      measurements.stripeShare = share;
      sentences.push(`${s.stripeReads.length} of ${s.chipCardReads.length} chip cards (${fmt.pct(share)}) read by stripe or fallback within ${this.t.fallbackSurgeWindowHours} hours`);
    }
    if (s.displaced.length >= this.t.precursorMinEvents) {
      reasons.push('MPOS_DISPLACED');
      evidence.push(...s.displaced);
      measurements.usesFarFromRegisteredPlace = s.displaced.length;
      sentences.push(`mobile reader used ${s.displaced.length} times more than ${this.t.mposDisplacedKm} km from its registered place`);
    }
    if (s.securityFailures.length >= this.t.securityFailureBurst) {
      reasons.push('SECURITY_FAILURES');
      evidence.push(...s.securityFailures);
      measurements.securityFailuresInHour = s.securityFailures.length;
      sentences.push(`${s.securityFailures.length} failed PIN or cryptogram checks within an hour`);
    }
    if (reasons.length === 0) return undefined;
    // The same tampering seen again next week is the same incident.
    s.suppressedUntil = a.eventTime + 30 * DAY_MS;
    const windowStart = Math.min(...evidence.map((m) => m.time));
    return {
      detector: TERMINAL_COMPROMISE,
      detectorVersion: TERMINAL_COMPROMISE_VERSION,
      subjectType: 'TERMINAL',
      subjectId: a.terminalId,
      windowStart,
      windowEnd: a.eventTime,
      score: Math.min(0.99, 0.65 + 0.12 * reasons.length),
      evidenceEventIds: [...new Set(evidence.map((m) => m.eventId))],
      reasonCodes: reasons,
      explanation: `Terminal ${a.terminalId} shows signs of tampering: ${sentences.join('; ')}.`,
      measurements,
      detectedAt: a.eventTime,
    };
  }

  evict(now: number): void {
    for (const [id, s] of this.terminals) if (s.lastSeen < now - 30 * DAY_MS) this.terminals.delete(id);
  }
}
