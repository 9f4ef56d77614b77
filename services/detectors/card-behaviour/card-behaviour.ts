/**
 * Card behaviour (amount anomaly, grown into a profile), subject CARD: a burst of
 * purchases that each break the card's own habits — account takeover, a stolen card number
 * spent card-not-present, a card tested at a fuel pump before it is emptied.
 *
 * Each card keeps a profile learned from its own approved purchases:
 * - its amounts per kind of purchase (merchant category × card present or not), as the mean and
 *   spread of log-amounts. While a card has few purchases of a kind, the estimate is shrunk toward
 *   a prior (`cardProfilePriorPurchases` pseudo-purchases): what that kind costs the population,
 *   moved by the card's own price level, so a new card is judged against what such purchases
 *   usually cost, and an old one against itself;
 * - its price level: how far above or below the population its purchases of every kind run (the
 *   mean of log-amount minus the population's mean for the kind), and how much that varies. A card
 *   that pays four times the usual at the grocer's does so at the restaurant too: its first
 *   restaurant bills are judged at its level, with its own spread, not at everybody's. A level
 *   below the population's moves the prior down only as far as the card keeps to it (its spread
 *   narrower than the population's): a card that pays little everywhere is judged at its level, one
 *   that pays little at the baker's and a lot elsewhere is not. How far the level is trusted: once a
 *   card has `cardProfileLevelMinDays` days of history, as far as the shard's cards show that a
 *   card's level predicts its purchases (empirical Bayes: the spread of purchases split into a part
 *   between cards and a part within one card); before, only by a mixture that keeps the
 *   population's spread until the card has shown its level;
 * - its hours of day (24 counters, halved when they grow, so habits can change), shrunk toward the
 *   population's hours (`cardProfileHourPriorPurchases`) while it has few purchases;
 * - which kinds of purchase it makes at all, and how many purchases a day.
 *
 * A purchase is *unusual* when its amount is far from the card's habit for that kind of purchase
 * (`cardProfileHighSpreads` spreads above, or `cardProfileLowSpreads` below: small amounts are
 * common, so far fewer count), and more unusual at an hour the card rarely uses or in a kind of
 * purchase it never made. A purchase only `cardProfileModerateSpreads` above its habit also counts,
 * `cardProfileModerateWeight` each, when a second habit is broken with it: it comes at an hour the
 * card rarely uses (and counts the hour's weight too), or while the card buys faster than usual
 * (`cardProfileVelocityFactor` times its usual purchases a day within the window, once it has
 * `cardProfileVelocityMinPurchases` purchases over `cardProfileVelocityMinDays` days). A verdict is raised when the unusual purchases within
 * `cardProfileBurstHours` add up to `cardProfileBurstScore`: one odd purchase is a card holder's
 * holiday; several in a day is somebody else spending. Every purchase is learned only once it has
 * left the burst window without a verdict (a day late: the cardholder's new habit, or a new card
 * finding its level); the purchases of a window that raised a verdict are never learned, so a
 * fraudster cannot teach the profile his habits, not even with his less unusual purchases. No absolute amount appears anywhere: every
 * threshold is a multiple of a spread or a share.
 *
 * Population statistics are kept per card shard (the card's partition), so that the card stage
 * can run as several instances and still give the same verdicts as one process.
 */
import { DAY_MS, HOUR_MS } from '../../core/geo.ts';
import type { EnrichedAuthorisation } from '../../core/records.ts';
import { fmt, type Verdict } from '../kernel/alert.ts';
import { learn, type LogAmountStatistics } from '../kernel/statistics.ts';
import type { Thresholds } from '../thresholds.ts';

export const CARD_BEHAVIOUR = 'card-behaviour';
export const CARD_BEHAVIOUR_VERSION = '2.3.0';

/** How far purchases run from their kind's mean, split into a part between cards and one within a card. */
interface LevelSpread {
  /** Distances of purchases from their kind's mean, every card's. */
  readonly fromKind: LogAmountStatistics;
  /** Squared distances of a card's purchase from that card's level so far, scaled to the variance within a card. */
  readonly withinCard: LogAmountStatistics;
  between: number;
  within: number;
}

/** A purchase inside the burst window: not learned yet, and unusual or not. */
interface RecentPurchase {
  readonly eventId: string;
  readonly time: number;
  readonly kind: string;
  readonly approved: boolean;
  /** Part of a burst that raised a verdict (or came while one was in force): never learned. */
  alerted: boolean;
  readonly amountMinor: number;
  readonly currency: string;
  readonly usualMinor: number;
  readonly spreads: number;
  readonly hour: number;
  readonly rareHour: boolean;
  readonly newKind: boolean;
  /** Only moderately above habit, counted because it came at a rare hour or while the card was buying fast. */
  readonly moderate: boolean;
  /** The card was buying faster than usual when it came. */
  readonly fast: boolean;
  /** 0 for a purchase that is not unusual. */
  readonly score: number;
}

export interface CardProfile {
  readonly kinds: Map<string, LogAmountStatistics>;
  /** Log-amounts of the card's purchases minus the population's mean for their kind. */
  readonly level: LogAmountStatistics;
  readonly hours: number[];
  hoursTotal: number;
  purchases: number;
  firstPurchaseAt: number;
  readonly recent: RecentPurchase[];
  suppressedUntil: number;
}

export function initialCardProfile(): CardProfile {
  return {
    kinds: new Map(), level: { n: 0, mean: 0, variance: 0 }, hours: new Array<number>(24).fill(0), hoursTotal: 0, purchases: 0,
    firstPurchaseAt: Number.NaN, recent: [], suppressedUntil: Number.NEGATIVE_INFINITY,
  };
}

/** What all cards of one shard spend per kind of purchase: the prior for cards that have little history. */
export class PopulationProfile {
  /** `t`: its memories and minimums (configuration, not state). */
  constructor(private readonly t: Thresholds) {}

  /** Per shard: kind of purchase → its statistics. */
  private readonly kinds = new Map<number, Map<string, LogAmountStatistics>>();
  /** Per shard: learned purchases per local hour of day, and their total. */
  private readonly hours = new Map<number, { counts: number[]; total: number }>();
  /** Per shard: how purchases spread between and within cards (read on every purchase, so kept ready). */
  private readonly levels = new Map<number, LevelSpread>();

  /**
   * How a purchase's distance from its kind's mean splits into a part that belongs to the card
   * (between cards: its price level) and a part that varies from one of its purchases to the next
   * (within), once the shard has seen enough cards buy again to tell.
   */
  levelSpread(shard: number): Readonly<LevelSpread> | undefined {
    const s = this.levels.get(shard);
    return s === undefined || s.withinCard.n < this.t.cardProfileLevelSplitMinPurchases || s.between <= 0 ? undefined : s;
  }

  /** `level`: the card's level before this purchase joins it. */
  learnLevel(shard: number, fromKind: number, level: LogAmountStatistics): void {
    let s = this.levels.get(shard);
    if (s === undefined) {
      s = { fromKind: { n: 0, mean: 0, variance: 0 }, withinCard: { n: 0, mean: 0, variance: 0 }, between: 0, within: 0 };
      this.levels.set(shard, s);
    }
    learn(s.fromKind, fromKind, this.t.cardProfilePopulationMemory);
    if (level.n > 0) {
      // A purchase's distance from a level measured over n purchases varies by within × (1 + 1/n).
      const d = fromKind - level.mean;
      learn(s.withinCard, d * d * level.n / (level.n + 1), this.t.cardProfilePopulationMemory);
    }
    s.within = s.withinCard.mean;
    s.between = s.fromKind.variance - s.within;
  }

  /** The share of the shard's purchases made in this local hour, once it has seen enough to tell. */
  hourShare(shard: number, hour: number): number | undefined {
    const h = this.hours.get(shard);
    return h === undefined || h.total < this.t.cardProfilePopulationMinPurchases * 24 ? undefined : h.counts[hour]! / h.total;
  }

  learnHour(shard: number, hour: number): void {
    let h = this.hours.get(shard);
    if (h === undefined) {
      h = { counts: new Array<number>(24).fill(0), total: 0 };
      this.hours.set(shard, h);
    }
    h.counts[hour]!++;
    h.total++;
  }

  get(shard: number, kind: string): LogAmountStatistics | undefined {
    const s = this.kinds.get(shard)?.get(kind);
    return s !== undefined && s.n >= this.t.cardProfilePopulationMinPurchases ? s : undefined;
  }

  learn(shard: number, kind: string, x: number): void {
    let kinds = this.kinds.get(shard);
    if (kinds === undefined) {
      kinds = new Map();
      this.kinds.set(shard, kinds);
    }
    let s = kinds.get(kind);
    if (s === undefined) {
      s = { n: 0, mean: 0, variance: 0 };
      kinds.set(kind, s);
    }
    learn(s, x, this.t.cardProfilePopulationMemory);
  }
}

const kindOf = (mcc: string, cardPresent: boolean) => `${mcc}${cardPresent ? '' : ' CNP'}`;

function hourOf(e: EnrichedAuthorisation): number {
  const local = e.features.localMinuteOfDay;
  return local === null ? Math.floor(e.authorisation.eventTime / HOUR_MS) % 24 : Math.floor(local / 60);
}

export function evolveCardBehaviour(
  profile: CardProfile, population: PopulationProfile, shard: number, e: EnrichedAuthorisation, t: Thresholds,
): Verdict | undefined {
  const a = e.authorisation;
  if ((a.transactionType !== 'PURCHASE' && a.transactionType !== 'CASH_ADVANCE') || a.amountMinor <= 0) return undefined;
  const kind = kindOf(a.mcc, a.cardPresent);
  const x = Math.log(a.amountMinor);
  const own = profile.kinds.get(kind);
  const k = t.cardProfilePriorPurchases;
  // The prior as it stands before this purchase's window moves on (learning below changes it).
  const prior = population.get(shard, kind);
  const hasPrior = prior !== undefined;
  let priorMean = 0;
  let priorVariance = 0;
  if (hasPrior) {
    const shift = levelShift(profile.level, prior);
    // How much the card has shown against `k` pseudo-purchases of the population.
    const w = profile.level.n / (profile.level.n + k);
    const split = a.eventTime - profile.firstPurchaseAt >= t.cardProfileLevelMinDays * DAY_MS ? population.levelSpread(shard) : undefined;
    if (split !== undefined) {
      // Empirical Bayes: the card's level weighs as much as its n purchases say against how much
      // levels differ between cards — never less than `w`, so a card unlike any other is still
      // judged at its own level. The kind's spread keeps only its within-card share, plus what is
      // still uncertain about the level.
      const byCard = profile.level.n / Math.max(split.within, t.cardProfileMinSpread * t.cardProfileMinSpread);
      const weight = Math.max(w, byCard / (byCard + 1 / split.between));
      priorMean = prior.mean + weight * shift;
      priorVariance = prior.variance * split.within / (split.within + split.between) + (1 - weight) * split.between;
    } else {
      // A card's first days: a mixture of two guesses, the population's amounts moved by the card's
      // level, with the card's own spread around that level where it is narrower; or the
      // population's, with theirs. Its spread includes the distance between the two guesses, so a
      // card whose level is still uncertain is not judged against a narrow spread at a half-way mean.
      priorMean = prior.mean + w * shift;
      priorVariance = w * Math.min(prior.variance, profile.level.variance) + (1 - w) * prior.variance + w * (1 - w) * shift * shift;
    }
  }
  const n = own?.n ?? 0;
  const hour = hourOf(e);
  learnPastWindow(profile, population, shard, a.eventTime - t.cardProfileBurstHours * HOUR_MS, t);

  let spreads = 0;
  let usual = Number.NaN;
  if (hasPrior || n >= k) {
    const pn = hasPrior ? k : 0;
    const mean = ((own?.mean ?? 0) * n + priorMean * pn) / (n + pn);
    const variance = ((own?.variance ?? 0) * n + priorVariance * pn) / (n + pn);
    spreads = (x - mean) / Math.max(Math.sqrt(variance), t.cardProfileMinSpread);
    usual = Math.exp(mean);
  }
  const high = spreads >= t.cardProfileHighSpreads;
  const low = spreads <= -t.cardProfileLowSpreads;
  // Velocity: more purchases in the window than the card makes in a usual day, by a factor, once
  // its history is long enough to have a usual day.
  const fast = profile.purchases >= t.cardProfileVelocityMinPurchases && a.eventTime - profile.firstPurchaseAt >= t.cardProfileVelocityMinDays * DAY_MS
    && profile.recent.length + 1 >= Math.max(3, t.cardProfileVelocityFactor * usualPurchasesPerDay(profile, a.eventTime));

  // The card's share of purchases at this hour, shrunk toward the population's while it has few
  // (a card with nine purchases has not shown it never buys at 3 am; the population has).
  // Without a population yet, the card's own hours alone, once it has enough of them.
  const populationShare = population.hourShare(shard, hour);
  const hk = t.cardProfileHourPriorPurchases;
  const hourShare = populationShare !== undefined ? (profile.hours[hour]! + hk * populationShare) / (profile.hoursTotal + hk)
    : profile.hoursTotal >= t.cardProfileOwnHoursMinPurchases ? (profile.hours[hour]! + 1) / (profile.hoursTotal + 24) : Number.POSITIVE_INFINITY;
  const oddHour = hourShare < t.cardProfileRareHourShare / 24;
  const moderate = (fast || oddHour) && !high && !low && spreads >= t.cardProfileModerateSpreads;
  const rareHour = (high || low || moderate) && oddHour;
  const newKind = (high || low) && profile.purchases >= t.cardProfileNewKindMinPurchases && own === undefined;
  const score = high || low ? 1 + (rareHour ? t.cardProfileRareHourWeight : 0) + (newKind ? t.cardProfileNewKindWeight : 0)
    : moderate ? t.cardProfileModerateWeight + (rareHour ? t.cardProfileRareHourWeight : 0) : 0;
  const recent = profile.recent;
  if (recent.length >= t.cardProfileMaxRecentPurchases) learnOldest(profile, population, shard, t);
  recent.push({
    eventId: a.eventId, time: a.eventTime, kind, approved: a.responseCode === '00', alerted: a.eventTime < profile.suppressedUntil,
    amountMinor: a.amountMinor, currency: a.currency, usualMinor: usual, spreads, hour, rareHour, newKind, moderate, fast, score,
  });
  if (score === 0 || a.eventTime < profile.suppressedUntil) return undefined;
  let total = 0;
  for (const p of recent) total += p.score;
  if (total < t.cardProfileBurstScore) return undefined;
  profile.suppressedUntil = a.eventTime + t.cardProfileSuppressionDays * DAY_MS;
  for (const p of recent) p.alerted = true;
  return burstVerdict(profile, e, recent.filter((p) => p.score > 0), total, t);
}

/** What the profile said of one purchase it just took (see `purchaseHabit`). */
export interface PurchaseHabit {
  /** Spreads above (negative: below) the card's habit for this kind of purchase; 0 while neither card nor population knows the kind. */
  readonly spreads: number;
  /** The card's usual amount for this kind of purchase, minor units; 0 while unknown. */
  readonly usualMinor: number;
  /** The unusual purchases of the burst window added up, this one included (a verdict is raised at `cardProfileBurstScore`). */
  readonly burstScore: number;
}

/** The habit reading of the purchase `eventId` when it is the last the profile took; undefined otherwise (not a purchase). */
export function purchaseHabit(profile: CardProfile, eventId: string): PurchaseHabit | undefined {
  const last = profile.recent.at(-1);
  if (last === undefined || last.eventId !== eventId) return undefined;
  let burstScore = 0;
  for (const p of profile.recent) burstScore += p.score;
  return { spreads: last.spreads, usualMinor: Number.isNaN(last.usualMinor) ? 0 : Math.round(last.usualMinor), burstScore };
}

/**
 * How far the card's purchases run above or below the population's for the same kinds (log units),
 * as far as the card keeps to it. A level above counts in full. A level below counts by the share of
 * the population's spread the card's own purchases do not use: in full if they never stray from
 * their level, not at all once they vary as much as everybody's. A card that pays less than most at
 * the shops it uses often has not shown it pays less everywhere (measured on an independent stream:
 * moving every low card's prior down in full cost card precision there, 0.88 to 0.78).
 */
function levelShift(level: LogAmountStatistics, population: LogAmountStatistics): number {
  return level.mean >= 0 ? level.mean : level.mean * Math.max(0, 1 - level.variance / population.variance);
}

function usualPurchasesPerDay(profile: CardProfile, now: number): number {
  return profile.purchases === 0 ? 0 : profile.purchases / Math.max(1, (now - profile.firstPurchaseAt) / DAY_MS);
}

/** Purchases older than the burst window leave it; those no verdict touched become habit. */
function learnPastWindow(profile: CardProfile, population: PopulationProfile, shard: number, from: number, t: Thresholds): void {
  while (profile.recent.length > 0 && profile.recent[0]!.time <= from) learnOldest(profile, population, shard, t);
}

function learnOldest(profile: CardProfile, population: PopulationProfile, shard: number, t: Thresholds): void {
  const p = profile.recent.shift()!;
  if (!p.alerted && p.approved) learnPurchase(profile, population, shard, p, t);
}

function learnPurchase(profile: CardProfile, population: PopulationProfile, shard: number, p: RecentPurchase, t: Thresholds): void {
  const { kind, hour, time } = p;
  const x = Math.log(p.amountMinor);
  let own = profile.kinds.get(kind);
  if (own === undefined) {
    if (profile.kinds.size >= t.cardProfileMaxKinds) forgetLeastUsedKind(profile.kinds);
    own = { n: 0, mean: 0, variance: 0 };
    profile.kinds.set(kind, own);
  }
  learn(own, x, t.cardProfileCardMemory);
  const usual = population.get(shard, kind);
  if (usual !== undefined) {
    population.learnLevel(shard, x - usual.mean, profile.level);
    learn(profile.level, x - usual.mean, t.cardProfileCardMemory);
  }
  population.learn(shard, kind, x);
  if (profile.hoursTotal >= t.cardProfileHourMemory) {
    profile.hoursTotal = 0;
    for (let h = 0; h < 24; h++) profile.hoursTotal += (profile.hours[h] = Math.floor(profile.hours[h]! / 2));
  }
  profile.hours[hour]!++;
  profile.hoursTotal++;
  population.learnHour(shard, hour);
  if (profile.purchases === 0) profile.firstPurchaseAt = time;
  profile.purchases++;
}

function forgetLeastUsedKind(kinds: Map<string, LogAmountStatistics>): void {
  let least: string | undefined;
  for (const [kind, s] of kinds) if (least === undefined || s.n < kinds.get(least)!.n) least = kind;
  if (least !== undefined) kinds.delete(least);
}

function burstVerdict(profile: CardProfile, e: EnrichedAuthorisation, burst: readonly RecentPurchase[], total: number, t: Thresholds): Verdict {
  const a = e.authorisation;
  const above = burst.filter((p) => p.spreads > 0).length;
  const below = burst.length - above;
  const rareHours = burst.filter((p) => p.rareHour).length;
  const moderates = burst.filter((p) => p.moderate && p.fast).length;
  const moderatesAtRareHours = burst.filter((p) => p.moderate && !p.fast).length;
  const newKinds = burst.filter((p) => p.newKind).length;
  const reasonCodes = ['UNUSUAL_SPENDING_BURST'];
  if (above > 0) reasonCodes.push('AMOUNT_ABOVE_CARD_HABIT');
  if (below > 0) reasonCodes.push('AMOUNT_BELOW_CARD_HABIT');
  if (rareHours > 0) reasonCodes.push('UNUSUAL_HOUR_FOR_CARD');
  if (newKinds > 0) reasonCodes.push('NEW_KIND_OF_PURCHASE_FOR_CARD');
  if (moderates > 0) reasonCodes.push('VELOCITY_ABOVE_CARD_HABIT');
  const usualPerDay = usualPurchasesPerDay(profile, a.eventTime);
  const largest = burst.reduce((m, p) => (Math.abs(p.spreads) > Math.abs(m.spreads) ? p : m));
  const examples = burst.slice(0, 3).map((p) =>
    `${fmt.money(p.amountMinor, p.currency)} at ${String(p.hour).padStart(2, '0')}h (usual ${fmt.money(Math.round(p.usualMinor), p.currency)})`);
  const extras = [rareHours > 0 ? `${rareHours} at hours it rarely uses` : '', newKinds > 0 ? `${newKinds} of a kind it never bought` : '',
    moderatesAtRareHours > 0 ? `${moderatesAtRareHours} only moderately above habit, but at hours it rarely uses` : '',
    moderates > 0 ? `${moderates} only moderately above habit, but among ${profile.recent.length} purchases within the window against ${fmt.dec(usualPerDay)} a day usually` : '']
    .filter((s) => s !== '');
  return {
    detector: CARD_BEHAVIOUR,
    detectorVersion: CARD_BEHAVIOUR_VERSION,
    subjectType: 'CARD',
    subjectId: a.cardToken,
    windowStart: burst[0]!.time,
    windowEnd: a.eventTime,
    score: Math.min(0.95, 0.5 + 0.1 * (total - t.cardProfileBurstScore) + 0.05 * Math.min(4, Math.abs(largest.spreads) - t.cardProfileHighSpreads)),
    evidenceEventIds: burst.map((p) => p.eventId),
    reasonCodes,
    explanation: `Card ${a.bin}…${a.last4} made ${burst.length} purchases within ${fmt.int((a.eventTime - burst[0]!.time) / HOUR_MS)} h far from its habit ` +
      `(${above} above, ${below} below its usual amount for that kind of purchase${extras.length > 0 ? `; ${extras.join(', ')}` : ''}): ` +
      `${examples.join(', ')}${burst.length > 3 ? ', …' : ''}. Largest departure ${fmt.dec(Math.abs(largest.spreads))} spreads ` +
      `(limits ${t.cardProfileHighSpreads} above, ${t.cardProfileLowSpreads} below); burst score ${fmt.dec(total)} of ${t.cardProfileBurstScore}; ` +
      `${profile.purchases} purchases learned, ${fmt.dec(usualPerDay)} a day.`,
    measurements: {
      unusualPurchases: burst.length, aboveHabit: above, belowHabit: below, atRareHours: rareHours, newKinds, moderatelyAboveWhileFast: moderates,
      moderatelyAboveAtRareHours: moderatesAtRareHours,
      burstScore: total, largestSpreads: largest.spreads, largestAmountMinor: largest.amountMinor, usualAmountMinor: largest.usualMinor,
      purchasesLearned: profile.purchases, usualPurchasesPerDay: usualPerDay,
    },
    detectedAt: a.eventTime,
  };
}
