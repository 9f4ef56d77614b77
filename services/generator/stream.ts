/**
 * The synthetic acquirer: a seeded, labelled stream of merchant and terminal profiles,
 * authorisations and card outcomes over N simulated days, in event-time order, with injected
 * fraud scenarios and their ground truth.
 *
 * Genuine traffic first: each card shops mostly at its favourite merchants near home (and at web
 * shops), follows daily and weekly rhythms, sometimes travels (at plausible speeds), gets declined,
 * refunds. Then scenarios add or alter events, and record which subjects a detector should name.
 * Some fraud is there to mislead: card-not-present breaches compromise cards far from any
 * skimmer, and a skimmer's victims shop at the shops next to it too.
 */
import { DAY_MS, HOUR_MS, MINUTE_MS, distanceKm } from '../core/geo.ts';
import { isOpenAt, localMinuteOfDay } from '../core/opening-hours.ts';
import type {
  AuthorisationEvent,
  CardOutcome,
  EntryMode,
  MerchantProfile,
  SubjectType,
  TerminalCapabilities,
  TerminalKind,
  TerminalProfile,
  TransactionType,
} from '../core/records.ts';
import { buildPopulation, type Card, type Merchant, type Population, type Terminal } from './population.ts';
import { Random } from './random.ts';
import { cities, hourlyActivity, weekdayActivity, type City } from './world.ts';

export interface GeneratorOptions {
  readonly seed: number;
  readonly days: number;
  readonly cards: number;
  readonly merchants: number;
  /** First simulated midnight, UTC, epoch ms. */
  readonly startTime: number;
}

export const defaultGeneratorOptions: GeneratorOptions = {
  seed: 20261121,
  days: 30,
  cards: 10_000,
  merchants: 600,
  startTime: Date.UTC(2026, 8, 1),
};

/** What a detector family should find; 'card-not-present-breach' is fraud no detector is meant to find, kept to score precision honestly. */
export type Family = 'skimming-cluster' | 'cloned-card' | 'laundering-cashout' | 'card-testing' | 'account-takeover' | 'card-not-present-breach';

export type ScenarioName =
  | 'skimming'
  | 'cloned-card-travel-atc'
  | 'lost-stolen-use'
  | 'fallback-surge'
  | 'firmware-tampering'
  | 'fake-terminal'
  | 'cash-out'
  | 'transaction-laundering'
  | 'card-testing'
  | 'account-takeover'
  | 'card-not-present-breach';

/** One subject a detector family should alert on, and when its compromise began. */
export interface TruthSubject {
  readonly scenario: ScenarioName;
  readonly family: Family;
  readonly subjectType: SubjectType;
  readonly subjectId: string;
  readonly compromisedAt: number;
}

export type StreamRecord =
  | { readonly type: 'merchant'; readonly record: MerchantProfile }
  | { readonly type: 'terminal'; readonly record: TerminalProfile }
  | { readonly type: 'authorisation'; readonly record: AuthorisationEvent }
  | { readonly type: 'outcome'; readonly record: CardOutcome }
  /** A malformed authorisation as an acquirer might send it: must end in the dead-letter topic. */
  | { readonly type: 'malformed'; readonly time: number; readonly json: Record<string, unknown> };

export interface GeneratedStream {
  readonly options: GeneratorOptions;
  readonly records: StreamRecord[];
  readonly truth: TruthSubject[];
  readonly counts: Readonly<Record<StreamRecord['type'], number>>;
}

interface CardRef {
  readonly cardToken: string;
  readonly bin: string;
  readonly last4: string;
  readonly acquirerId: string;
  readonly chip: boolean;
  readonly initialAtc: number;
  /** The cardholder's own price level (1 for cards the generator makes up for a scenario). */
  readonly ticketScale?: number;
}

interface TerminalRef {
  readonly terminalId: string;
  readonly kind: TerminalKind;
  readonly capabilities: TerminalCapabilities;
  readonly latitude: number;
  readonly longitude: number;
  firmwareHash: string;
}

/** An authorisation before event ids and ATCs are assigned in time order. */
interface Draft {
  time: number;
  card: CardRef;
  terminal: TerminalRef;
  merchant: Merchant;
  amountMinor: number;
  transactionType: TransactionType;
  entryMode: EntryMode;
  cardPresent: boolean;
  pinVerified: boolean;
  responseCode: string;
  mcc: string;
  /** 'next': the card's next counter value; a number: replayed; null: no chip cryptogram. */
  atc: 'next' | number | null;
  reportedHash: string;
  position: { latitude: number; longitude: number } | null;
  /** Ties a draft to a later outcome that disputes it. */
  tag?: string;
}

const isOpen = (merchant: Merchant, time: number) => isOpenAt(localMinuteOfDay(time, merchant.city.utcOffsetMinutes), merchant.category.openingHours);

class StreamBuilder {
  readonly drafts: Draft[] = [];
  readonly outcomes: { outcome: Omit<CardOutcome, 'disputedEventIds'>; disputedTags: string[] }[] = [];
  readonly profileUpdates: TerminalProfile[] = [];
  readonly malformed: { time: number; json: Record<string, unknown> }[] = [];
  readonly truth: TruthSubject[] = [];
  /** Cardholders who travel during the stream: scenarios that need a card at home leave them out. */
  readonly travellers = new Set<string>();
  /** Firmware the registry updated mid-stream: terminal id → when, and the new hash. */
  private readonly firmwareUpdates = new Map<string, { at: number; hash: string }>();
  private tagSequence = 0;

  constructor(
    readonly random: Random,
    readonly population: Population,
    readonly options: GeneratorOptions,
  ) {}

  get end(): number {
    return this.options.startTime + this.options.days * DAY_MS;
  }

  tag(): string {
    return `d${++this.tagSequence}`;
  }

  terminalRef(terminal: Terminal): TerminalRef {
    const p = terminal.profile;
    return { terminalId: p.terminalId, kind: p.kind, capabilities: p.capabilities, latitude: p.latitude, longitude: p.longitude, firmwareHash: p.firmwareHash };
  }

  /** A purchase as a genuine cardholder makes it at this terminal and time. */
  purchase(card: CardRef, terminal: Terminal, time: number): Draft {
    const { random } = this;
    const merchant = terminal.merchant;
    const category = merchant.category;
    let amountMinor: number;
    if (random.chance(category.roundAmountShare)) {
      const steps = [1000, 2000, 3000, 5000, 10_000, 20_000].filter((a) => a <= category.medianTicketMinor * 4);
      amountMinor = random.pick(steps.length > 0 ? steps : [1000]);
    } else {
      // A cardholder's own tickets vary less than the category's: part of the spread is between people.
      amountMinor = Math.max(50, Math.round(random.logNormal(category.medianTicketMinor * (card.ticketScale ?? 1), category.ticketSigma * 0.7)));
    }
    const mobile = terminal.profile.kind === 'MPOS' || terminal.profile.kind === 'SOFTPOS';
    const draft: Draft = {
      time, card, terminal: this.terminalRef(terminal), merchant, amountMinor, transactionType: 'PURCHASE', entryMode: 'ECOM', cardPresent: false,
      pinVerified: false, responseCode: random.chance(0.028) ? random.weighted(['51', '05', '55', '54', '61'], [55, 25, 10, 5, 5]) : '00',
      mcc: merchant.profile.mcc, atc: null, reportedHash: this.firmwareAt(terminal.profile, time), position: null,
    };
    if (terminal.profile.kind === 'VIRTUAL') return draft;
    const caps = terminal.profile.capabilities;
    let entryMode: EntryMode;
    if (caps.contactless && (amountMinor <= 5000 || !caps.chip) && random.chance(0.78)) entryMode = 'CONTACTLESS';
    else if (card.chip && caps.chip) entryMode = random.chance(0.0008) ? 'FALLBACK' : 'CHIP';
    else if (caps.chip) entryMode = 'MAGSTRIPE';
    else entryMode = 'CONTACTLESS';
    return {
      ...draft,
      entryMode,
      cardPresent: true,
      pinVerified: entryMode === 'CHIP' ? random.chance(0.93) : entryMode === 'CONTACTLESS' ? amountMinor > 5000 : false,
      atc: entryMode === 'CHIP' || entryMode === 'CONTACTLESS' ? 'next' : null,
      position: mobile
        ? { latitude: +(terminal.profile.latitude + random.normal() * 0.05).toFixed(5), longitude: +(terminal.profile.longitude + random.normal() * 0.07).toFixed(5) }
        : null,
    };
  }

  firmwareAt(profile: TerminalProfile, time: number): string {
    const update = this.firmwareUpdates.get(profile.terminalId);
    return update !== undefined && time > update.at ? update.hash : profile.firmwareHash;
  }

  /** Cards that stay home all stream long. */
  homebodies(): Card[] {
    return this.population.cards.filter((c) => !this.travellers.has(c.cardToken));
  }

  /** A time on `day` drawn from the daily rhythm, in the city's local time, when the merchant is open. */
  shoppingTime(day: number, city: City, merchant: Merchant, notBefore: number): number | undefined {
    const { random } = this;
    for (let attempt = 0; attempt < 6; attempt++) {
      const hour = random.weighted(hourlyActivity.map((_, i) => i), hourlyActivity);
      const localMidnight = this.options.startTime + day * DAY_MS - city.utcOffsetMinutes * MINUTE_MS;
      const time = localMidnight + hour * HOUR_MS + random.int(0, 3_599_999);
      if (time >= notBefore && time < this.end && isOpen(merchant, time)) return time;
    }
    return undefined;
  }

  genuineTraffic(): void {
    const { random, population, options } = this;
    for (const card of population.cards) {
      // About one cardholder in twenty takes a trip of 2–5 days to another city.
      let trip: { city: City; from: number; to: number; arrival: number } | undefined;
      if (random.chance(0.05)) {
        const city = random.pick(cities.filter((c) => c !== card.home));
        const from = random.int(1, options.days - 6);
        const to = from + random.int(2, 5);
        // Flights at ~700 km/h plus airports: never faster than the cloned-card speed limit.
        const flight = (distanceKm(card.home.latitude, card.home.longitude, city.latitude, city.longitude) / 700) * HOUR_MS + 2 * HOUR_MS;
        trip = { city, from, to, arrival: options.startTime + from * DAY_MS + 6 * HOUR_MS + flight };
        this.travellers.add(card.cardToken);
      }
      // A cardholder is at one till at a time: keep a card's purchases 15 minutes apart.
      const taken: number[] = [];
      const free = (time: number) => taken.every((t) => Math.abs(t - time) >= 15 * MINUTE_MS);
      for (let day = 0; day < options.days; day++) {
        const date = new Date(options.startTime + day * DAY_MS);
        const weekday = (date.getUTCDay() + 6) % 7;
        const count = random.poisson(card.dailyRate * weekdayActivity[weekday]!);
        const away = trip !== undefined && day >= trip.from && day < trip.to;
        const returning = trip !== undefined && day === trip.to;
        const city = away ? trip!.city : card.home;
        const notBefore = away && day === trip!.from ? trip!.arrival
          : returning ? trip!.arrival + (trip!.to - trip!.from) * DAY_MS
            : 0;
        for (let i = 0; i < count; i++) {
          const local = population.merchantsByCity.get(city.name) ?? population.merchants;
          const merchant = !away && random.chance(0.85)
            ? random.pick(card.favourites)
            : random.weighted(local, local.map((m) => m.category.visitWeight));
          const time = this.shoppingTime(day, city, merchant, notBefore);
          if (time === undefined || !free(time)) continue;
          taken.push(time);
          const draft = this.purchase(card, random.pick(merchant.terminals), time);
          this.drafts.push(draft);
          if (draft.responseCode === '00' && random.chance(merchant.category.refundRate)) {
            const refundTime = time + random.int(1, 8) * DAY_MS + random.int(0, 6) * HOUR_MS;
            if (refundTime < this.end && isOpen(merchant, refundTime)) {
              this.drafts.push({ ...draft, time: refundTime, transactionType: 'REFUND', amountMinor: Math.round(draft.amountMinor * random.pick([1, 1, 0.5])), atc: draft.atc === null ? null : 'next', responseCode: '00' });
            }
          }
        }
      }
    }

    // Routine firmware updates: the registry changes first, then the terminal reports the new hash.
    for (const terminal of random.sample(population.terminals, Math.round(population.terminals.length * 0.05))) {
      const at = options.startTime + random.int(2, options.days - 2) * DAY_MS + random.int(1, 5) * HOUR_MS;
      const hash = `sha256:${random.hex(16)}`;
      this.profileUpdates.push({ ...terminal.profile, firmwareVersion: '5.1.0', firmwareHash: hash, updatedAt: at });
      this.firmwareUpdates.set(terminal.profile.terminalId, { at, hash });
      for (const draft of this.drafts) {
        if (draft.terminal.terminalId === terminal.profile.terminalId && draft.time > at) draft.reportedHash = hash;
      }
    }

    // Genuine feedback: complaints that are not fraud, and lost cards blocked before anyone uses them.
    for (const card of random.sample(population.cards, Math.round(population.cards.length * 0.004))) {
      const drafts = this.drafts.filter((d) => d.card === card);
      const disputed = drafts.length > 0 ? random.pick(drafts) : undefined;
      if (disputed === undefined) continue;
      disputed.tag = this.tag();
      this.outcomes.push({
        outcome: { outcomeId: `out-${random.hex(12)}`, cardToken: card.cardToken, kind: random.pick(['COMPLAINT', 'CHARGEBACK'] as const), fraudRelated: false,
          reportedAt: Math.min(this.end - MINUTE_MS, disputed.time + random.int(2, 15) * DAY_MS), note: 'service not as described', acquirerId: card.acquirerId },
        disputedTags: [disputed.tag],
      });
    }
  }

  /** Removes a card's genuine drafts after `time` (a blocked or lost card stops being used). */
  stopCardAfter(cardToken: string, time: number): void {
    for (let i = this.drafts.length - 1; i >= 0; i--) {
      const d = this.drafts[i]!;
      if (d.card.cardToken === cardToken && d.time > time) this.drafts.splice(i, 1);
    }
  }

  otherCity(than: City): City {
    return this.random.pick(cities.filter((c) => distanceKm(c.latitude, c.longitude, than.latitude, than.longitude) > 400));
  }

  private readonly fraudRotation = new Map<string, Merchant[]>();

  /**
   * The next shop in `city` where a counterfeit card is spent: fraudsters spread purchases over the
   * city's shops with a card reader (rotating through them) rather than returning to one.
   */
  nextFraudMerchant(city: City): Merchant | undefined {
    let rotation = this.fraudRotation.get(city.name);
    if (rotation === undefined || rotation.length === 0) {
      const shops = (this.population.merchantsByCity.get(city.name) ?? []).filter((m) => m.terminals.some((t) => t.profile.capabilities.chip));
      rotation = this.random.sample(shops, shops.length);
      this.fraudRotation.set(city.name, rotation);
    }
    return rotation.shift();
  }

  /** A fraudulent card-present use of a copied card. */
  fraudUse(card: CardRef, terminal: Terminal, time: number, entryMode: EntryMode, amountMinor: number, atc: Draft['atc']): Draft {
    const draft = this.purchase(card, terminal, time);
    return { ...draft, entryMode, amountMinor, atc, pinVerified: false, responseCode: this.random.chance(0.9) ? '00' : '05', tag: this.tag() };
  }

  disputeLater(card: CardRef, drafts: Draft[], kind: 'CONFIRMED_FRAUD' | 'CHARGEBACK', delayDays: [number, number], note: string): void {
    if (drafts.length === 0) return;
    const last = Math.max(...drafts.map((d) => d.time));
    const reportedAt = last + this.random.int(delayDays[0], delayDays[1]) * DAY_MS + this.random.int(0, 23) * HOUR_MS;
    if (reportedAt >= this.end) return;
    for (const d of drafts) d.tag ??= this.tag();
    this.outcomes.push({
      outcome: { outcomeId: `out-${this.random.hex(12)}`, cardToken: card.cardToken, kind, fraudRelated: true, reportedAt, note, acquirerId: card.acquirerId },
      disputedTags: drafts.map((d) => d.tag!),
    });
  }
}

/** Skimmers fitted to a few terminals; the skimmed cards cloned and used elsewhere days later; outcomes after a delay. */
function skimming(b: StreamBuilder): void {
  const { random, options } = b;
  // Skimmers go where many cards pass: the busiest fuel and grocery terminals.
  const visits = new Map<string, number>();
  for (const d of b.drafts) visits.set(d.terminal.terminalId, (visits.get(d.terminal.terminalId) ?? 0) + 1);
  const candidates = b.population.terminals
    .filter((t) => (t.merchant.profile.mcc === '5541' || t.merchant.profile.mcc === '5411') && t.profile.capabilities.chip)
    .sort((x, y) => (visits.get(y.profile.terminalId) ?? 0) - (visits.get(x.profile.terminalId) ?? 0))
    .slice(0, 40);
  for (const terminal of random.sample(candidates, 4)) {
    const fittedAt = options.startTime + random.int(2, 7) * DAY_MS;
    const removedAt = fittedAt + random.int(4, 6) * DAY_MS;
    const skimmedVisits = b.drafts.filter((d) => d.terminal.terminalId === terminal.profile.terminalId && d.time >= fittedAt && d.time < removedAt
      && d.transactionType === 'PURCHASE');
    const skimmedCards = new Map<string, Draft>();
    for (const visit of skimmedVisits) if (!skimmedCards.has(visit.card.cardToken) && random.chance(0.6)) skimmedCards.set(visit.card.cardToken, visit);
    let firstCompromise = Number.POSITIVE_INFINITY;
    for (const visit of skimmedCards.values()) {
      if (!random.chance(0.45)) continue; // not every skimmed card is cashed in within the stream
      const card = visit.card;
      const fraudCity = b.otherCity(terminal.merchant.city);
      const start = visit.time + random.int(3, 12) * DAY_MS + random.int(0, 10) * HOUR_MS;
      const uses: Draft[] = [];
      const count = random.int(2, 5);
      for (let i = 0; i < count; i++) {
        const merchant = b.nextFraudMerchant(fraudCity);
        const time = start + i * random.int(2, 20) * HOUR_MS;
        if (merchant === undefined || time >= b.end || !isOpen(merchant, time)) continue;
        // Copied magstripe data: the clone has no chip, so a terminal with a card reader falls back to the stripe.
        const readers = merchant.terminals.filter((t) => t.profile.capabilities.chip);
        if (readers.length === 0) continue;
        uses.push(b.fraudUse(card, random.pick(readers), time, random.chance(0.7) ? 'FALLBACK' : 'MAGSTRIPE',
          Math.round(random.logNormal(45_000, 0.5)), null));
      }
      if (uses.length < 2) continue;
      b.drafts.push(...uses);
      firstCompromise = Math.min(firstCompromise, visit.time);
      b.truth.push({ scenario: 'skimming', family: 'cloned-card', subjectType: 'CARD', subjectId: card.cardToken, compromisedAt: uses[0]!.time });
      if (random.chance(0.8)) b.disputeLater(card, uses, random.chance(0.5) ? 'CONFIRMED_FRAUD' : 'CHARGEBACK', [3, 20], 'counterfeit card used while the cardholder had the card');
    }
    if (firstCompromise < Number.POSITIVE_INFINITY) {
      b.truth.push({ scenario: 'skimming', family: 'skimming-cluster', subjectType: 'TERMINAL', subjectId: terminal.profile.terminalId, compromisedAt: fittedAt });
      b.truth.push({ scenario: 'skimming', family: 'skimming-cluster', subjectType: 'MERCHANT', subjectId: terminal.profile.merchantId, compromisedAt: fittedAt });
    }
  }
}

/** EMV-cloned cards: used far away within the hour of a genuine use, replaying an old ATC. */
function clonedCardTravelAtc(b: StreamBuilder): void {
  const { random } = b;
  const chipCards = b.homebodies().filter((c) => c.chip);
  for (const card of random.sample(chipCards, 15)) {
    const genuine = b.drafts.filter((d) => d.card === card && d.atc === 'next' && d.time > b.options.startTime + 5 * DAY_MS).sort((x, y) => x.time - y.time);
    const anchor = genuine[Math.floor(genuine.length / 2)];
    if (anchor === undefined) continue;
    const city = b.otherCity(card.home);
    const uses: Draft[] = [];
    for (let i = 0; i < random.int(2, 3); i++) {
      const merchant = b.nextFraudMerchant(city);
      if (merchant === undefined) continue;
      const time = anchor.time + random.int(20, 55) * MINUTE_MS + i * random.int(30, 90) * MINUTE_MS;
      if (time >= b.end) continue;
      const terminal = merchant.terminals.find((t) => t.profile.capabilities.chip)!;
      // The cloned chip replays a counter value the real card already used.
      uses.push(b.fraudUse(card, terminal, time, 'CHIP', Math.round(random.logNormal(30_000, 0.5)), card.initialAtc + random.int(1, 3)));
    }
    if (uses.length === 0) continue;
    b.drafts.push(...uses);
    b.truth.push({ scenario: 'cloned-card-travel-atc', family: 'cloned-card', subjectType: 'CARD', subjectId: card.cardToken, compromisedAt: uses[0]!.time });
    b.disputeLater(card, uses, 'CONFIRMED_FRAUD', [2, 10], 'cardholder denies purchases abroad');
  }
}

/** Cards reported lost or stolen, then used in person by whoever has them. */
function lostStolenUse(b: StreamBuilder): void {
  const { random } = b;
  for (const card of random.sample(b.homebodies(), 12)) {
    const reportedAt = b.options.startTime + random.int(4, b.options.days - 4) * DAY_MS + random.int(8, 20) * HOUR_MS;
    b.stopCardAfter(card.cardToken, reportedAt - HOUR_MS);
    b.outcomes.push({ outcome: { outcomeId: `out-${random.hex(12)}`, cardToken: card.cardToken, kind: 'LOST_STOLEN', fraudRelated: true, reportedAt, note: 'wallet stolen', acquirerId: card.acquirerId }, disputedTags: [] });
    const local = b.population.merchantsByCity.get(card.home.name) ?? [];
    const uses: Draft[] = [];
    for (let i = 0; i < random.int(2, 4); i++) {
      const merchant = random.pick(local.filter((m) => m.terminals.some((t) => t.profile.capabilities.contactless)));
      const time = reportedAt + random.int(1, 30) * HOUR_MS;
      if (time >= b.end || !isOpen(merchant, time)) continue;
      const terminal = merchant.terminals.find((t) => t.profile.capabilities.contactless)!;
      uses.push(b.fraudUse(card, terminal, time, 'CONTACTLESS', random.int(800, 4900), 'next'));
    }
    if (uses.length === 0) continue;
    b.drafts.push(...uses);
    b.truth.push({ scenario: 'lost-stolen-use', family: 'cloned-card', subjectType: 'CARD', subjectId: card.cardToken, compromisedAt: reportedAt });
  }
}

/** A tampered reader that forces chip cards onto the magnetic stripe. */
function fallbackSurge(b: StreamBuilder): void {
  const { random } = b;
  const busy = b.population.terminals.filter((t) => t.profile.capabilities.chip && t.profile.kind === 'ATTENDED_POS' && t.merchant.profile.mcc === '5411');
  for (const terminal of random.sample(busy, 2)) {
    const from = b.options.startTime + random.int(5, b.options.days - 8) * DAY_MS;
    let first = Number.POSITIVE_INFINITY;
    for (const d of b.drafts) {
      if (d.terminal.terminalId !== terminal.profile.terminalId || d.time < from || !d.card.chip || d.entryMode !== 'CHIP' || !random.chance(0.7)) continue;
      d.entryMode = 'FALLBACK';
      d.atc = null;
      d.pinVerified = false;
      first = Math.min(first, d.time);
    }
    if (first < Number.POSITIVE_INFINITY) b.truth.push({ scenario: 'fallback-surge', family: 'skimming-cluster', subjectType: 'TERMINAL', subjectId: terminal.profile.terminalId, compromisedAt: first });
  }
}

/** Terminal software replaced: the terminal reports a hash the registry does not know. */
function firmwareTampering(b: StreamBuilder): void {
  const { random } = b;
  const updated = new Set(b.profileUpdates.map((p) => p.terminalId));
  const candidates = b.population.terminals.filter((t) => !updated.has(t.profile.terminalId) && t.profile.kind === 'ATTENDED_POS');
  for (const terminal of random.sample(candidates, 2)) {
    const from = b.options.startTime + random.int(5, b.options.days - 8) * DAY_MS;
    const hash = `sha256:${random.hex(16)}`;
    let first = Number.POSITIVE_INFINITY;
    for (const d of b.drafts) {
      if (d.terminal.terminalId !== terminal.profile.terminalId || d.time < from) continue;
      d.reportedHash = hash;
      first = Math.min(first, d.time);
    }
    if (first < Number.POSITIVE_INFINITY) b.truth.push({ scenario: 'firmware-tampering', family: 'skimming-cluster', subjectType: 'TERMINAL', subjectId: terminal.profile.terminalId, compromisedAt: first });
  }
}

/** A terminal id the registry never issued, pushing stolen card data through a real merchant's account. */
function fakeTerminal(b: StreamBuilder): void {
  const { random } = b;
  const merchant = random.pick(b.population.merchants.filter((m) => m.profile.mcc === '5999' || m.profile.mcc === '5691'));
  const fake: Terminal = {
    merchant,
    profile: { ...merchant.terminals[0]!.profile, terminalId: `t-${random.hex(6)}-99`, kind: 'MPOS', capabilities: { chip: false, contactless: false, pinPad: false }, firmwareHash: `sha256:${random.hex(16)}` },
  };
  const start = b.options.startTime + random.int(6, b.options.days - 10) * DAY_MS;
  const victims = random.sample(b.population.cards, 25);
  const uses: { card: Card; draft: Draft }[] = [];
  for (const card of victims) {
    const time = start + random.int(0, 3 * 24) * HOUR_MS + random.int(0, 59) * MINUTE_MS;
    // Stolen card numbers keyed into the rogue terminal: no card is present.
    const draft = { ...b.fraudUse(card, fake, time, 'MANUAL', Math.round(random.logNormal(25_000, 0.4)), null), cardPresent: false };
    uses.push({ card, draft });
    b.drafts.push(draft);
  }
  for (const { card, draft } of uses) if (random.chance(0.85)) b.disputeLater(card, [draft], 'CHARGEBACK', [4, 14], 'cardholder never visited this merchant');
  const first = Math.min(...uses.map((u) => u.draft.time));
  b.truth.push({ scenario: 'fake-terminal', family: 'skimming-cluster', subjectType: 'TERMINAL', subjectId: fake.profile.terminalId, compromisedAt: first });
  // The merchant account the rogue terminal pushes through is a point of fraud too.
  b.truth.push({ scenario: 'fake-terminal', family: 'skimming-cluster', subjectType: 'MERCHANT', subjectId: merchant.profile.merchantId, compromisedAt: first });
}

/** Colluding merchants: fake purchases with the same cards, round amounts, just under limits, at night. */
function cashOut(b: StreamBuilder): void {
  const { random } = b;
  const merchants = random.sample(b.population.merchants.filter((m) => ['5944', '5732', '5999', '5691'].includes(m.profile.mcc) && m.category.openingHours !== null), 3);
  for (const merchant of merchants) {
    const local = b.homebodies().filter((c) => c.home === merchant.city);
    const ring = random.sample(local, random.int(8, 12));
    const from = random.int(4, 10);
    let first = Number.POSITIVE_INFINITY;
    for (const card of ring) {
      let pairCount = 0;
      let pairFirst = Number.POSITIVE_INFINITY;
      for (let day = from; day < b.options.days; day++) {
        if (!random.chance(0.55)) continue;
        for (let k = 0; k < random.int(1, 2); k++) {
          const night = random.chance(0.55);
          const localHour = night ? random.pick([21, 22, 23, 0, 1, 2]) : random.int(11, 17);
          const time = b.options.startTime + day * DAY_MS - merchant.city.utcOffsetMinutes * MINUTE_MS + localHour * HOUR_MS + random.int(0, 3_599_999);
          if (time >= b.end) continue;
          const amountMinor = random.chance(0.4) ? random.pick([99_000, 199_000, 299_000, 495_000, 498_000, 499_000, 995_000]) : random.pick([100_000, 200_000, 300_000, 500_000]);
          const draft = b.purchase(card, random.pick(merchant.terminals), time);
          b.drafts.push({ ...draft, amountMinor, responseCode: '00', entryMode: card.chip ? 'CHIP' : 'MAGSTRIPE', atc: card.chip ? 'next' : null, pinVerified: true });
          pairCount++;
          pairFirst = Math.min(pairFirst, time);
        }
      }
      first = Math.min(first, pairFirst);
      if (pairCount >= 4) b.truth.push({ scenario: 'cash-out', family: 'laundering-cashout', subjectType: 'CARD_MERCHANT', subjectId: `${card.cardToken}|${merchant.profile.merchantId}`, compromisedAt: pairFirst });
    }
    if (first < Number.POSITIVE_INFINITY) b.truth.push({ scenario: 'cash-out', family: 'laundering-cashout', subjectType: 'MERCHANT', subjectId: merchant.profile.merchantId, compromisedAt: first });
  }
}

/** A grocery account processing an online business's sales: wrong MCC, wrong tickets, card not present. */
function transactionLaundering(b: StreamBuilder): void {
  const { random } = b;
  const merchants = random.sample(b.population.merchants.filter((m) => m.profile.mcc === '5411' || m.profile.mcc === '5912'), 2);
  for (const merchant of merchants) {
    const from = random.int(4, 12);
    let first = Number.POSITIVE_INFINITY;
    for (let day = from; day < b.options.days; day++) {
      for (let k = 0; k < random.int(25, 50); k++) {
        const card = random.pick(b.population.cards);
        const time = b.options.startTime + day * DAY_MS + random.int(0, DAY_MS - 1);
        const draft = b.purchase(card, random.pick(merchant.terminals), time);
        b.drafts.push({ ...draft, mcc: random.pick(['5967', '5816']), amountMinor: Math.round(random.logNormal(16_000, 0.45)), entryMode: random.chance(0.7) ? 'ECOM' : 'MANUAL',
          cardPresent: false, pinVerified: false, atc: null, position: null });
        first = Math.min(first, time);
      }
    }
    b.truth.push({ scenario: 'transaction-laundering', family: 'laundering-cashout', subjectType: 'MERCHANT', subjectId: merchant.profile.merchantId, compromisedAt: first });
  }
}

/** Bursts of stolen card numbers tried for tiny amounts: many cards, minutes, mostly declined. */
function cardTesting(b: StreamBuilder): void {
  const { random } = b;
  for (const terminal of random.sample(b.population.terminals.filter((t) => t.profile.kind === 'MPOS' || t.profile.kind === 'SOFTPOS'), 3)) {
    const start = b.options.startTime + random.int(3, b.options.days - 3) * DAY_MS + random.int(0, 23) * HOUR_MS;
    const count = random.int(30, 60);
    for (let i = 0; i < count; i++) {
      const card: CardRef = { cardToken: `tok_${random.hex(16)}`, bin: random.pick(['457173', '535522', '415231']), last4: String(random.int(0, 9999)).padStart(4, '0'),
        acquirerId: 'acq-eu-02', chip: true, initialAtc: 1 };
      const draft = b.purchase(card, terminal, start + Math.floor((i * 9 * MINUTE_MS) / count) + random.int(0, 9_000));
      b.drafts.push({ ...draft, amountMinor: random.int(50, 250), entryMode: 'MANUAL', cardPresent: false, pinVerified: false, atc: null,
        responseCode: random.chance(0.85) ? random.pick(['14', '54', '05', '51']) : '00' });
    }
    b.truth.push({ scenario: 'card-testing', family: 'card-testing', subjectType: 'TERMINAL', subjectId: terminal.profile.terminalId, compromisedAt: start });
  }
}

const webShops = (b: StreamBuilder) => b.population.merchants.filter((m) => m.terminals.some((t) => t.profile.kind === 'VIRTUAL'));

/**
 * Card numbers stolen from a web shop's database, not from any terminal: a few cards all over the
 * population are used online days later and reported. Their genuine visits before the fraud are
 * noise for the compromise test, spread over every terminal.
 */
function cardNotPresentBreach(b: StreamBuilder): void {
  const { random } = b;
  const shops = webShops(b);
  for (const card of random.sample(b.population.cards, Math.round(b.population.cards.length * 0.01))) {
    const start = b.options.startTime + random.int(5, b.options.days - 2) * DAY_MS + random.int(0, 23) * HOUR_MS;
    const uses: Draft[] = [];
    for (let i = 0; i < random.int(1, 3) && shops.length > 0; i++) {
      const time = start + random.int(0, 72) * HOUR_MS;
      if (time >= b.end) continue;
      const shop = random.pick(shops);
      const draft = b.purchase(card, shop.terminals[0]!, time);
      uses.push({ ...draft, amountMinor: Math.round(random.logNormal(shop.category.medianTicketMinor, 0.6)), responseCode: '00', tag: b.tag() });
    }
    if (uses.length === 0) continue;
    b.drafts.push(...uses);
    b.truth.push({ scenario: 'card-not-present-breach', family: 'card-not-present-breach', subjectType: 'CARD', subjectId: card.cardToken, compromisedAt: uses[0]!.time });
    b.disputeLater(card, uses, 'CONFIRMED_FRAUD', [2, 15], 'online purchases the cardholder did not make');
  }
}

/**
 * Account takeover: a homebody's card details in a fraudster's hands, spent in a burst over a
 * night and the day after (from 22:00 local), at web shops and at whatever shop of a kind the cardholder does not
 * use is open, at a few times what the cardholder usually pays; reported a week or so later.
 */
function accountTakeover(b: StreamBuilder): void {
  const { random } = b;
  const shops = webShops(b);
  for (const card of random.sample(b.homebodies(), 30)) {
    const local = (b.population.merchantsByCity.get(card.home.name) ?? []).filter((m) => !card.favourites.includes(m));
    const localMidnight = b.options.startTime + random.int(8, b.options.days - 3) * DAY_MS - card.home.utcOffsetMinutes * MINUTE_MS;
    const uses: Draft[] = [];
    const count = random.int(4, 8);
    for (let i = 0; i < count; i++) {
      const time = localMidnight + random.int(-2, 3 + i * 2) * HOUR_MS + random.int(0, 3_599_999);
      const online = random.chance(0.7) || local.length === 0;
      const merchant = online ? random.pick(shops) : random.pick(local);
      if (time >= b.end || (!online && !isOpen(merchant, time))) continue;
      const terminal = online ? merchant.terminals[0]! : random.pick(merchant.terminals);
      const draft = b.purchase(card, terminal, time);
      uses.push({ ...draft, amountMinor: Math.round(merchant.category.medianTicketMinor * card.ticketScale * (3 + random.next() * 7)), responseCode: '00', tag: b.tag() });
    }
    if (uses.length < 3) continue;
    b.drafts.push(...uses);
    b.truth.push({ scenario: 'account-takeover', family: 'account-takeover', subjectType: 'CARD', subjectId: card.cardToken, compromisedAt: Math.min(...uses.map((u) => u.time)) });
    b.disputeLater(card, uses, 'CONFIRMED_FRAUD', [4, 10], 'purchases made after the account was taken over');
  }
}

/** Records acquirers get wrong: each must be rejected with a field-level reason and dead-lettered. */
function malformedRecords(b: StreamBuilder): void {
  const { random } = b;
  const faults: ((json: Record<string, unknown>) => void)[] = [
    (j) => { j.amountMinor = '12,50'; },
    (j) => { delete j.cardToken; },
    (j) => { j.entryMode = 'TELEPATHY'; },
    (j) => { j.eventTime = '2026-09-14 10:00'; },
    (j) => { j.cardPresent = 'yes'; },
  ];
  for (let i = 0; i < 25; i++) {
    const source = random.pick(b.drafts);
    const json: Record<string, unknown> = {
      eventId: `malformed-${i + 1}`, acquirerId: source.card.acquirerId, eventTime: source.time, cardToken: source.card.cardToken, bin: source.card.bin,
      last4: source.card.last4, amountMinor: source.amountMinor, currency: 'EUR', transactionType: 'PURCHASE', merchantId: source.merchant.profile.merchantId,
      terminalId: source.terminal.terminalId, mcc: source.mcc, entryMode: source.entryMode, cardPresent: true, pinVerified: false, cardChipCapable: source.card.chip,
      atc: null, responseCode: '00', terminalFirmwareHash: null, latitude: null, longitude: null,
    };
    faults[i % faults.length]!(json);
    b.malformed.push({ time: source.time, json });
  }
}

const scenarios = [
  skimming, clonedCardTravelAtc, lostStolenUse, fallbackSurge, firmwareTampering, fakeTerminal, cashOut, transactionLaundering, cardTesting,
  cardNotPresentBreach, accountTakeover, malformedRecords,
];

const typeOrder: Record<StreamRecord['type'], number> = { merchant: 0, terminal: 1, outcome: 2, authorisation: 3, malformed: 4 };

/** A stream record's event time (a profile's: when it took effect). */
export function timeOf(r: StreamRecord): number {
  switch (r.type) {
    case 'merchant':
      return r.record.updatedAt;
    case 'terminal':
      return r.record.updatedAt;
    case 'authorisation':
      return r.record.eventTime;
    case 'outcome':
      return r.record.reportedAt;
    case 'malformed':
      return r.time;
    default: {
      const unreachable: never = r;
      throw new Error(`unknown record ${String(unreachable)}`);
    }
  }
}

export function generateStream(options: GeneratorOptions = defaultGeneratorOptions): GeneratedStream {
  const random = new Random(options.seed);
  const population = buildPopulation(random, options);
  const b = new StreamBuilder(random, population, options);
  b.genuineTraffic();
  for (const scenario of scenarios) scenario(b);

  // ATCs count up per card in time order; event ids follow global time order.
  b.drafts.sort((x, y) => x.time - y.time || x.card.cardToken.localeCompare(y.card.cardToken));
  const atc = new Map<string, number>();
  const eventIdByTag = new Map<string, string>();
  const authorisations: StreamRecord[] = [];
  let sequence = 0;
  for (const d of b.drafts) {
    let counter: number | null = null;
    if (d.atc === 'next') {
      counter = (atc.get(d.card.cardToken) ?? d.card.initialAtc) + (random.chance(0.1) ? 2 : 1);
      atc.set(d.card.cardToken, counter);
    } else if (typeof d.atc === 'number') {
      counter = d.atc;
    }
    const day = new Date(d.time).toISOString().slice(0, 10);
    const eventId = `${d.card.acquirerId}:${day}:${String(++sequence).padStart(9, '0')}`;
    if (d.tag !== undefined) eventIdByTag.set(d.tag, eventId);
    authorisations.push({
      type: 'authorisation',
      record: {
        eventId, acquirerId: d.card.acquirerId, eventTime: d.time, cardToken: d.card.cardToken, bin: d.card.bin, last4: d.card.last4,
        amountMinor: d.amountMinor, currency: 'EUR', transactionType: d.transactionType, merchantId: d.merchant.profile.merchantId,
        terminalId: d.terminal.terminalId, mcc: d.mcc, entryMode: d.entryMode, cardPresent: d.cardPresent, pinVerified: d.pinVerified,
        cardChipCapable: d.card.chip, atc: counter, responseCode: d.responseCode, terminalFirmwareHash: d.reportedHash,
        latitude: d.position?.latitude ?? null, longitude: d.position?.longitude ?? null,
      },
    });
  }

  const records: StreamRecord[] = [
    ...population.merchants.map((m): StreamRecord => ({ type: 'merchant', record: { ...m.profile, updatedAt: options.startTime - DAY_MS } })),
    ...population.terminals.map((t): StreamRecord => ({ type: 'terminal', record: { ...t.profile, updatedAt: options.startTime - DAY_MS } })),
    ...b.profileUpdates.map((p): StreamRecord => ({ type: 'terminal', record: p })),
    ...authorisations,
    ...b.outcomes.map(({ outcome, disputedTags }): StreamRecord => ({
      type: 'outcome',
      record: { ...outcome, disputedEventIds: disputedTags.map((t) => eventIdByTag.get(t)).filter((id): id is string => id !== undefined) },
    })),
    ...b.malformed.map(({ time, json }): StreamRecord => ({ type: 'malformed', time, json })),
  ];
  records.sort((x, y) => timeOf(x) - timeOf(y) || typeOrder[x.type] - typeOrder[y.type]);

  const counts = { merchant: 0, terminal: 0, authorisation: 0, outcome: 0, malformed: 0 };
  for (const r of records) counts[r.type]++;
  return { options, records, truth: b.truth, counts };
}
