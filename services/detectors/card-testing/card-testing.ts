/**
 * Card testing, subject TERMINAL: within cardTestingWindowMinutes at one terminal, at
 * least cardTestingMinCards distinct cards, mostly declined, for tiny amounts. One verdict per
 * terminal per hour. State: the window's authorisations (tens), per active terminal.
 */
import { MINUTE_MS } from '../../core/geo.ts';
import { APPROVED, type EnrichedAuthorisation } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import type { Thresholds } from '../thresholds.ts';

export const CARD_TESTING = 'card-testing';
export const CARD_TESTING_VERSION = '1.0.0';

interface Attempt {
  readonly time: number;
  readonly eventId: string;
  readonly cardToken: string;
  readonly amountMinor: number;
  readonly declined: boolean;
}

interface TerminalWindow {
  attempts: Attempt[];
  /** How many of `attempts` were declined: most authorisations fail the decline share, checked before anything costlier. */
  declined: number;
  suppressedUntil: number;
}

export class CardTesting {
  private readonly terminals = new Map<string, TerminalWindow>();

  constructor(private readonly t: Thresholds) {}

  authorisation(e: EnrichedAuthorisation): Verdict | undefined {
    const a = e.authorisation;
    let w = this.terminals.get(a.terminalId);
    if (w === undefined) {
      w = { attempts: [], declined: 0, suppressedUntil: Number.NEGATIVE_INFINITY };
      this.terminals.set(a.terminalId, w);
    }
    const since = a.eventTime - this.t.cardTestingWindowMinutes * MINUTE_MS;
    let i = 0;
    while (i < w.attempts.length && w.attempts[i]!.time < since) if (w.attempts[i++]!.declined) w.declined--;
    if (i > 0) w.attempts.splice(0, i);
    const declined = a.responseCode !== APPROVED;
    w.attempts.push({ time: a.eventTime, eventId: a.eventId, cardToken: a.cardToken, amountMinor: a.amountMinor, declined });
    if (declined) w.declined++;
    if (w.attempts.length < this.t.cardTestingMinCards || a.eventTime < w.suppressedUntil) return undefined;
    const declineShare = w.declined / w.attempts.length;
    if (declineShare < this.t.cardTestingMinDeclineShare) return undefined;

    const cards = new Set(w.attempts.map((x) => x.cardToken)).size;
    if (cards < this.t.cardTestingMinCards) return undefined;
    const amounts = w.attempts.map((x) => x.amountMinor).sort((x, y) => x - y);
    const median = amounts[Math.floor(amounts.length / 2)]!;
    if (median > this.t.cardTestingMaxMedianMinor) return undefined;

    w.suppressedUntil = a.eventTime + this.t.cardTestingSuppressionMinutes * MINUTE_MS;
    const first = w.attempts[0]!.time;
    return {
      detector: CARD_TESTING,
      detectorVersion: CARD_TESTING_VERSION,
      subjectType: 'TERMINAL',
      subjectId: a.terminalId,
      windowStart: first,
      windowEnd: a.eventTime,
      score: Math.min(0.99, 0.6 + declineShare * 0.3 + Math.min(0.09, cards / 500)),
      evidenceEventIds: w.attempts.map((x) => x.eventId),
      reasonCodes: ['CARD_TESTING'],
      explanation: `Terminal ${a.terminalId} is being used to test cards: ${cards} different cards in ${fmt.minutes(a.eventTime - first)}, ` +
        `${fmt.pct(declineShare)} declined, median amount ${fmt.money(median, a.currency)}.`,
      measurements: { distinctCards: cards, attempts: w.attempts.length, declineShare, medianAmountMinor: median, minutes: (a.eventTime - first) / MINUTE_MS },
      detectedAt: a.eventTime,
    };
  }

  /** Forgets terminals quiet for longer than both the window and the suppression (their state says nothing any more). */
  evict(now: number): void {
    const quiet = Math.max(this.t.cardTestingWindowMinutes, this.t.cardTestingSuppressionMinutes) * MINUTE_MS;
    for (const [id, w] of this.terminals) {
      const last = w.attempts.at(-1);
      if (last === undefined || last.time < now - quiet) this.terminals.delete(id);
    }
  }
}
