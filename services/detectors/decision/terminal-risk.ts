/**
 * What is known about a terminal at an authorisation's event time: how many of its authorisations
 * of the last `decisionTerminalWindowDays` were confirmed fraud by outcomes reported so far (an
 * outcome counts from its report on, never before: the delay is respected because the stage
 * takes disputes at their report time, in event-time order), and whether a terminal alert was
 * raised on it lately.
 *
 * State per terminal: one counter pair per day of the window (authorisations, and those disputed),
 * the disputed event ids of the window (so an authorisation disputed twice counts once), and its
 * last alert. Evicted a window after its last authorisation.
 */
import { DAY_MS } from '../../core/geo.ts';
import type { DisputeNotice } from '../inputs.ts';

export interface TerminalAssessment {
  /** Authorisations at the terminal in the window before this one. */
  readonly authorisations: number;
  /** Of those, how many were confirmed fraud by outcomes reported so far. */
  readonly confirmedFraud: number;
  /** When a terminal alert was last raised on it, and by which detector. */
  readonly alertedAt: number | null;
  readonly alertDetector: string | null;
}

interface Day {
  day: number;
  authorisations: number;
  disputed: number;
}

interface TerminalRecord {
  /** Oldest first; only days of the window. */
  readonly days: Day[];
  /** Disputed authorisations of the window: event id → its day. */
  readonly disputed: Map<string, number>;
  alertedAt: number | null;
  alertDetector: string | null;
  lastSeen: number;
}

export class TerminalRisk {
  private readonly terminals = new Map<string, TerminalRecord>();

  constructor(private readonly windowDays: number) {}

  get size(): number {
    return this.terminals.size;
  }

  private record(terminalId: string): TerminalRecord {
    let r = this.terminals.get(terminalId);
    if (r === undefined) {
      r = { days: [], disputed: new Map(), alertedAt: null, alertDetector: null, lastSeen: 0 };
      this.terminals.set(terminalId, r);
    }
    return r;
  }

  /** Assesses an authorisation at the terminal, then counts it. */
  authorisation(terminalId: string, time: number): TerminalAssessment {
    const r = this.record(terminalId);
    const today = Math.floor(time / DAY_MS);
    this.forget(r, today);
    let authorisations = 0;
    let confirmedFraud = 0;
    for (const d of r.days) {
      authorisations += d.authorisations;
      confirmedFraud += d.disputed;
    }
    const assessment: TerminalAssessment = { authorisations, confirmedFraud, alertedAt: r.alertedAt, alertDetector: r.alertDetector };
    const last = r.days.at(-1);
    if (last !== undefined && last.day === today) last.authorisations++;
    else r.days.push({ day: today, authorisations: 1, disputed: 0 });
    r.lastSeen = Math.max(r.lastSeen, time);
    return assessment;
  }

  /** An outcome, reported at `notice.time`, confirmed an authorisation at the terminal as fraud. */
  confirmedFraud(notice: DisputeNotice): void {
    const r = this.record(notice.terminalId);
    const day = Math.floor(notice.eventTime / DAY_MS);
    if (r.disputed.has(notice.eventId)) return;
    const d = r.days.find((x) => x.day === day);
    // An authorisation older than the window (or never seen here) no longer counts.
    if (d === undefined) return;
    d.disputed++;
    r.disputed.set(notice.eventId, day);
  }

  /** A terminal alert was raised on it. */
  alerted(terminalId: string, time: number, detector: string): void {
    const r = this.record(terminalId);
    r.alertedAt = time;
    r.alertDetector = detector;
  }

  /** Drops the terminals idle for a window. */
  evict(now: number): void {
    const horizon = now - this.windowDays * DAY_MS;
    for (const [id, r] of this.terminals) if (r.lastSeen < horizon) this.terminals.delete(id);
  }

  private forget(r: TerminalRecord, today: number): void {
    const first = today - this.windowDays + 1;
    let drop = 0;
    while (drop < r.days.length && r.days[drop]!.day < first) drop++;
    if (drop === 0) return;
    r.days.splice(0, drop);
    for (const [eventId, day] of r.disputed) if (day < first) r.disputed.delete(eventId);
  }
}
