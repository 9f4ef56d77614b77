/**
 * The card-keyed stage: everything that needs one card's history. It runs the cloned-card,
 * card-behaviour and card-amount detectors, and turns what it learns into notices for the terminal and merchant
 * stages: a card that became compromised (its genuine visits before the first fraud), and each
 * authorisation an outcome disputes.
 *
 * A card is kept per acquirer that saw it: one acquirer's authorisations and outcomes never
 * change what another's view of the card says (an outcome naming no acquirer, a network-wide
 * report, reaches every acquirer's view of the card).
 *
 * State per card and acquirer: a bounded history of recent authorisations (up to `historyLimit`, each ~100 B)
 * plus the detectors' own state; evicted `compromiseLookbackDays` + 30 days after the card's last
 * activity.
 */
import { DAY_MS } from '../core/geo.ts';
import type { CardOutcome, EnrichedAuthorisation } from '../core/records.ts';
import { AmountSignalOutcomes, evolveCardAmount, initialCardAmountState, type CardAmountState } from './card-amount/card-amount.ts';
import { PopulationProfile, evolveCardBehaviour, initialCardProfile, purchaseHabit, type CardProfile } from './card-behaviour/card-behaviour.ts';
import { evolveClonedCard, initialClonedCardState, lostOrStolen, type ClonedCardState } from './cloned-card/cloned-card.ts';
import { isInPersonUse } from './kernel/in-person.ts';
import type { Verdict } from './kernel/alert.ts';
import type { CompromiseNotice, CompromisedVisit, DisputeNotice } from './inputs.ts';
import type { Thresholds } from './thresholds.ts';
import { evictionEveryAuthorisations } from './kernel/eviction.ts';
import { assessCard, initialCardSpending, type CardAssessment, type CardSpending } from './decision/card-assessment.ts';

const historyLimit = 400;

interface HistoryEntry {
  readonly eventId: string;
  readonly time: number;
  readonly terminalId: string;
  readonly merchantId: string;
  readonly inPerson: boolean;
  /** At a VIRTUAL terminal (e-commerce acceptance). */
  readonly online: boolean;
}

interface CardState {
  history: HistoryEntry[];
  cloned: ClonedCardState;
  profile: CardProfile;
  amount: CardAmountState;
  compromisedAt: number | null;
  lastSeen: number;
  /** What the card's decisions read: its amounts, its last confirmed fraud and alert. */
  spending: CardSpending;
}

/** One card: each acquirer's view of it, and the network-wide outcomes every view, even a later one, takes. */
interface CardViews {
  readonly byAcquirer: Map<string, CardState>;
  readonly networkOutcomes: CardOutcome[];
}

/** Network-wide reports kept per card for views that start later: a handful in a card's life. */
const networkOutcomeLimit = 20;

export interface CardStageOutput {
  readonly verdicts: Verdict[];
  readonly compromises: CompromiseNotice[];
  /** Disputed authorisations that point at a place (in person or keyed at a fake terminal), for the merchant stage. */
  readonly disputes: DisputeNotice[];
  /** Every authorisation an outcome confirmed as fraud, for the terminal stage's fraud rates. */
  readonly confirmedFraud: DisputeNotice[];
}

export class CardStage {
  private readonly cards = new Map<string, CardViews>();
  private readonly population: PopulationProfile;
  private readonly amountOutcomes = new AmountSignalOutcomes();
  private sinceEviction = 0;

  /** `shardOf` names the card's partition: population statistics are kept per partition (card-behaviour.ts). */
  constructor(private readonly thresholds: Thresholds, private readonly shardOf: (cardToken: string) => number) {
    this.population = new PopulationProfile(thresholds);
  }

  get size(): number {
    let size = 0;
    for (const views of this.cards.values()) size += views.byAcquirer.size;
    return size;
  }

  private views(token: string): CardViews {
    let views = this.cards.get(token);
    if (views === undefined) {
      views = { byAcquirer: new Map(), networkOutcomes: [] };
      this.cards.set(token, views);
    }
    return views;
  }

  private card(token: string, acquirerId: string): CardState {
    const views = this.views(token);
    let state = views.byAcquirer.get(acquirerId);
    if (state === undefined) {
      state = { history: [], cloned: initialClonedCardState(), profile: initialCardProfile(), amount: initialCardAmountState(), compromisedAt: null, lastSeen: 0, spending: initialCardSpending() };
      views.byAcquirer.set(acquirerId, state);
      // What the network said about the card before this acquirer saw it holds for this view too.
      for (const o of views.networkOutcomes) this.outcomeOn(state, o, { verdicts: [], compromises: [], disputes: [], confirmedFraud: [] });
    }
    return state;
  }

  /** The views an outcome concerns: its acquirer's, or, when it names none, every acquirer's now and later. */
  private viewsOf(o: CardOutcome): CardState[] {
    if (o.acquirerId !== null) return [this.card(o.cardToken, o.acquirerId)];
    const views = this.views(o.cardToken);
    views.networkOutcomes.push(o);
    if (views.networkOutcomes.length > networkOutcomeLimit) views.networkOutcomes.shift();
    return [...views.byAcquirer.values()];
  }

  /**
   * Takes an authorisation and returns what the card's history says of it; returns undefined, and
   * ignores it, when it is a resend of one the card already had (same eventId and event time): an
   * acquirer resending a request whose answer it lost, after ingest died or through another ingest
   * instance, must not count twice in any window.
   */
  authorisation(e: EnrichedAuthorisation, out: CardStageOutput): CardAssessment | undefined {
    const a = e.authorisation;
    const state = this.card(a.cardToken, a.acquirerId);
    // The history is in event-time order: only entries at this authorisation's time can be it.
    for (let i = state.history.length - 1; i >= 0 && state.history[i]!.time >= a.eventTime; i--) {
      if (state.history[i]!.eventId === a.eventId && state.history[i]!.time === a.eventTime) return undefined;
    }
    state.lastSeen = a.eventTime;
    const cloned = evolveClonedCard(state.cloned, e, this.thresholds);
    const unusual = evolveCardBehaviour(state.profile, this.population, this.shardOf(a.cardToken), e, this.thresholds);
    const habit = purchaseHabit(state.profile, a.eventId);
    const unusualAmount = evolveCardAmount(state.amount, this.amountOutcomes, this.shardOf(a.cardToken), habit, e, this.thresholds);
    for (const verdict of [cloned, unusual, unusualAmount]) {
      if (verdict === undefined) continue;
      state.spending.alertedAt = a.eventTime;
      state.spending.alertDetector = verdict.detector;
    }
    const assessment = assessCard(state.spending, state.history, habit, e, this.thresholds);
    state.history.push({
      eventId: a.eventId, time: a.eventTime, terminalId: a.terminalId, merchantId: a.merchantId,
      inPerson: isInPersonUse(e), online: e.terminal?.kind === 'VIRTUAL',
    });
    if (state.history.length > historyLimit) state.history.splice(0, state.history.length - historyLimit);
    if (cloned !== undefined) {
      out.verdicts.push({ ...cloned, acquirerId: a.acquirerId });
      // A clone found in use compromises the card now, weeks before any outcome would.
      this.compromise(a.cardToken, state, cloned.windowStart, new Set(cloned.evidenceEventIds), cloned.detectedAt, 'cloned-card alert', out);
    }
    if (unusual !== undefined) out.verdicts.push({ ...unusual, acquirerId: a.acquirerId });
    if (unusualAmount !== undefined) out.verdicts.push({ ...unusualAmount, acquirerId: a.acquirerId });
    this.maybeEvict(a.eventTime);
    return assessment;
  }

  outcome(o: CardOutcome, out: CardStageOutput): void {
    for (const state of this.viewsOf(o)) this.outcomeOn(state, o, out);
  }

  private outcomeOn(state: CardState, o: CardOutcome, out: CardStageOutput): void {
    state.lastSeen = Math.max(state.lastSeen, o.reportedAt);
    if (o.kind === 'LOST_STOLEN') lostOrStolen(state.cloned, o.reportedAt);
    if (!o.fraudRelated && o.kind !== 'CONFIRMED_FRAUD' && o.kind !== 'LOST_STOLEN') return;
    state.spending.fraudReportedAt = Math.max(state.spending.fraudReportedAt ?? o.reportedAt, o.reportedAt);

    const disputed = new Set(o.disputedEventIds);
    let firstFraud = o.reportedAt;
    let disputedFound = false;
    let disputedInPerson = false;
    for (const entry of state.history) {
      if (!disputed.has(entry.eventId)) continue;
      disputedFound = true;
      this.amountOutcomes.disputed(this.shardOf(o.cardToken), entry.eventId, o.reportedAt, this.thresholds);
      disputedInPerson ||= entry.inPerson;
      firstFraud = Math.min(firstFraud, entry.time);
      const notice: DisputeNotice = {
        cardToken: o.cardToken, outcomeId: o.outcomeId, time: o.reportedAt, eventId: entry.eventId, eventTime: entry.time,
        terminalId: entry.terminalId, merchantId: entry.merchantId,
      };
      out.confirmedFraud.push(notice);
      // Which web shop a stolen card number was spent at says nothing about a terminal: disputes at
      // virtual terminals do not point at a place. (Keyed entries at a fake terminal still do.)
      if (!entry.online) out.disputes.push(notice);
    }
    // A skimmer copies a card to be used in person (counterfeit). Fraud only online or by phone
    // says the card's data leaked somewhere else (phishing, a breach); a lost or stolen card was
    // taken, not copied. Neither points at the terminals the card visited before.
    if (o.kind === 'LOST_STOLEN' || (disputedFound && !disputedInPerson)) return;
    this.compromise(o.cardToken, state, firstFraud, disputed, o.reportedAt, `${o.kind} outcome ${o.outcomeId}`, out);
  }

  /** The first time a card is known compromised: name its genuine in-person visits before the first fraud. */
  private compromise(cardToken: string, state: CardState, firstFraud: number, fraudulent: ReadonlySet<string>, at: number, source: string, out: CardStageOutput): void {
    if (state.compromisedAt !== null) return;
    state.compromisedAt = at;
    const from = firstFraud - this.thresholds.compromiseLookbackDays * DAY_MS;
    const visits: CompromisedVisit[] = [];
    const seen = new Set<string>();
    for (const entry of state.history) {
      if (!entry.inPerson || entry.time < from || entry.time >= firstFraud || fraudulent.has(entry.eventId)) continue;
      // One visit per terminal and day is enough evidence; repeat purchases add nothing.
      const key = `${entry.terminalId}|${Math.floor(entry.time / DAY_MS)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      visits.push({ eventId: entry.eventId, time: entry.time, terminalId: entry.terminalId, merchantId: entry.merchantId });
    }
    if (visits.length > 0) out.compromises.push({ cardToken, time: at, source, visits });
  }

  private maybeEvict(now: number): void {
    if (++this.sinceEviction < evictionEveryAuthorisations) return;
    this.sinceEviction = 0;
    const horizon = now - (this.thresholds.compromiseLookbackDays + 30) * DAY_MS;
    for (const [token, views] of this.cards) {
      for (const [acquirerId, state] of views.byAcquirer) if (state.lastSeen < horizon) views.byAcquirer.delete(acquirerId);
      if (views.byAcquirer.size === 0 && views.networkOutcomes.every((o) => o.reportedAt < horizon)) this.cards.delete(token);
    }
  }
}
