/**
 * Every detector threshold, with its default and the reasoning behind it (docs/DETECTORS.md
 * repeats them). Each can be overridden by an environment variable
 * POSGUARD_THRESHOLD_<NAME> (e.g. POSGUARD_THRESHOLD_MAX_SPEED_KMH=1000); see `thresholdsFromEnv`.
 */

import { createHash } from 'node:crypto';
import { PosguardError } from '../core/errors.ts';
export const thresholdSpecs = {
  // cloned-card
  maxSpeedKmh: { default: 900, why: 'A passenger jet cruises at 800–950 km/h; anything faster between two in-person uses is two cards.' },
  flightOverheadMinutes: { default: 90, why: 'A flight is never door to door: reaching the airport, boarding and leaving the other one take an hour and a half at the least, on top of the time in the air.' },
  groundSpeedKmh: { default: 300, why: 'By road or rail no trip averages more than a high-speed train\'s 300 km/h; a trip faster than that and faster than a flight with its airports was not made.' },
  minTravelDistanceKm: { default: 100, why: 'Below 100 km, terminal positions (registered address, mobile readers) are too coarse for a speed.' },
  overlapSeconds: { default: 60, why: 'Two checkouts at different merchants within a minute cannot be one person.' },
  overlapMinDistanceKm: { default: 2, why: 'Merchants closer than 2 km may share a mall or a street; beyond, one minute is not enough to walk between them.' },
  atcJumpLimit: { default: 500, why: 'Genuine cards advance their counter by one or two per use; hundreds at once means a copied chip or tampered counter.' },
  fallbackMerchantsToAlert: { default: 2, why: 'One failed chip read is often a dirty chip; stripe reads of a chip card at two different merchants within the window is a clone being used.' },
  fallbackWindowDays: { default: 7, why: 'Clones are cashed out within days of first use.' },
  clonedCardSuppressionDays: { default: 7, why: 'One verdict per card per episode: later signals of the same clone add nothing an analyst needs.' },
  // card-behaviour
  cardProfileHighSpreads: { default: 2.25, why: 'A purchase two and a quarter spreads above the card\'s usual log-amount for that kind of purchase happens one or two times in a hundred genuine purchases: unusual, not alarming alone. Measured at 2 and 2.5 too: at 2, five times as many generated cards without fraud were alerted and Sparkov card precision fell to 0.75; at 2.5, 6 fewer of 140 generated takeovers and 14 fewer of 260 Sparkov cards were found.' },
  cardProfileLowSpreads: { default: 5, why: 'Small purchases are common (a coffee on a card that buys groceries), so only amounts five spreads below the habit count: a fuel pump or web shop tested with a token amount.' },
  cardProfilePriorPurchases: { default: 10, why: 'Weight, in purchases, of the population\'s habit for a kind of purchase: after ten purchases of that kind the card\'s own habit counts as much as everybody\'s.' },
  cardProfileRareHourShare: { default: 0.9, why: 'An hour is rare for a card when it saw fewer purchases than 0.9 of an even spread over the day.' },
  cardProfileRareHourWeight: { default: 0.5, why: 'An unusual amount at an hour the card rarely uses counts one and a half.' },
  cardProfileNewKindWeight: { default: 0, why: 'A first purchase in a new kind of merchant adds this much; genuine cards try new shops often enough that it is off by default (measured: it cost precision on an independent stream).' },
  cardProfileModerateSpreads: { default: 1.5, why: 'At an hour the card rarely uses, or while it buys faster than usual, a purchase 1.5 spreads above its habit also counts (a fraudster spends a few times the habit, fast, at night). At 1.3, more cards without fraud were alerted on both streams (Sparkov card precision 0.76–0.81 instead of 0.87–0.91).' },
  cardProfileModerateWeight: { default: 0.5, why: 'Such a purchase counts half an unusual one.' },
  cardProfileVelocityFactor: { default: 3, why: 'Three times the card\'s usual purchases per day within the window (and at least three) is fast for that card.' },
  cardProfileVelocityMinPurchases: { default: 5, why: 'Five purchases over at least two days (the next threshold) are enough to know how often a card buys; a homebody\'s stolen card is spent before it has twenty.' },
  cardProfileVelocityMinDays: { default: 2, why: 'A card\'s usual pace is measured over two days at least, so that its first busy afternoon is not its habit.' },
  cardProfileLevelMinDays: { default: 4, why: 'After four days of history a card\'s price level is weighed by how well levels predict purchases across the shard\'s cards (empirical Bayes); before, more cautiously. Measured: weighing it that way from the first day found every generated takeover but raised cards in their first days (5 of 8 false alarms in one run); from day 3, 4, 5 or 7 the figures barely move.' },
  cardProfileHourPriorPurchases: { default: 20, why: 'Weight, in purchases, of the population\'s hours of day: a card with few purchases is judged against when everybody buys (few at 3 am), and after twenty of its own its habit counts as much.' },
  cardProfileBurstHours: { default: 24, why: 'Stolen card details are spent within a day; a card holder\'s odd purchases are spread over weeks.' },
  cardProfileBurstScore: { default: 3.5, why: 'Four unusual purchases in the window, or three with one at a rare hour: one or two are a holiday or a new sofa, and genuine cards reach three now and then.' },
  cardProfileSuppressionDays: { default: 7, why: 'One verdict per card per episode.' },
  cardProfileCardMemory: { default: 50, why: 'Purchases after which a card\'s own statistics (per kind, and its price level) stop growing their weight and become an exponential average: older habits fade over about fifty purchases.' },
  cardProfilePopulationMemory: { default: 100_000, why: 'Purchases over which the population\'s statistics of a card partition fade: months of a busy partition, so the prior follows prices slowly.' },
  cardProfilePopulationMinPurchases: { default: 50, why: 'Purchases of a kind (and, times 24, of every hour) a card partition needs before its population serves as a prior: fewer are not a price level.' },
  cardProfileLevelSplitMinPurchases: { default: 500, why: 'Repeat purchases a card partition needs before it splits the spread of purchases into a part between cards and a part within one (the empirical-Bayes level).' },
  cardProfileMaxKinds: { default: 16, why: 'Kinds of purchase (merchant category × card present) remembered per card, the least used forgotten first: bounds a card\'s state; a card rarely has more.' },
  cardProfileHourMemory: { default: 400, why: 'Purchases counted per card before its hour-of-day counters are halved, so that habits can change.' },
  cardProfileNewKindMinPurchases: { default: 20, why: 'Purchases a card needs before a kind of purchase it never made counts as new to it.' },
  cardProfileOwnHoursMinPurchases: { default: 20, why: 'Purchases a card needs before its own hours of day are its habit, while its partition\'s population does not know the hours yet.' },
  cardProfileMinSpread: { default: 0.1, why: 'No spread of log-amounts is taken as narrower than 0.1 (about ±10%): prices vary.' },
  cardProfileMaxRecentPurchases: { default: 64, why: 'Purchases kept per card while they are inside the burst window (a card makes a few a day); beyond, the oldest is learned early. Bounds a card\'s state.' },
  // card-amount
  cardAmountMinPurchases: { default: 10, why: 'A card\'s usual amount and how much it varies are its own after ten approved purchases; before, one large bill proves nothing.' },
  cardAmountMemory: { default: 100, why: 'A card\'s amounts fade over about a hundred purchases (months for most cards): habits change, slowly.' },
  cardAmountFarSpreads: { default: 6, why: 'Six standard deviations above the card\'s mean purchase: a card whose purchases vary a lot (groceries and flights) never reaches it with its own bills; one that always pays about the same does with a purchase several times its usual.' },
  cardAmountFarTimes: { default: 3, why: 'And three times its mean purchase: a card that always pays the same amount is not alarming at a few euros more.' },
  cardAmountUnusualSpreads: { default: 3, why: 'A purchase three deviations above the card\'s mean is unusual for it, not alarming alone: counted toward a repeated pattern.' },
  cardAmountUnusualTimes: { default: 2, why: 'And twice its mean purchase.' },
  cardAmountRepeatWindowDays: { default: 14, why: 'Low-and-slow fraud goes on for weeks before the holder reads a statement: unusual purchases within two weeks add up; one that leaves them without a verdict becomes habit.' },
  cardAmountLabelMaturityDays: { default: 30, why: 'A far or unusual purchase no outcome disputed within 30 days of it counts as genuine in the share that decides whether such purchases alert: most fraud is reported within weeks.' },
  cardAmountPriorPrecision: { default: 0.05, why: 'Before outcomes say otherwise, one purchase in twenty that far above its card\'s usual is taken to be fraud: card holders buy televisions. Alone it raises nothing; five such purchases within the window still do not.' },
  cardAmountPriorPurchases: { default: 20, why: 'Weight, in purchases, of that prior share: twenty purchases with known outcomes count as much as it.' },
  cardAmountAlertProbability: { default: 0.9, why: 'A verdict when the card\'s pending far and unusual purchases, each taken at the share of its kind outcomes confirmed as fraud, make it nine in ten likely that at least one is fraud.' },
  cardAmountSuppressionDays: { default: 7, why: 'One verdict per card per episode.' },
  // skimming-cluster
  compromiseLookbackDays: { default: 60, why: 'Skimmed data is typically cashed out within weeks; visits older than 60 days before the first fraud are not suspects.' },
  cppWindowDays: { default: 7, why: 'Skimmers stay on a terminal days, not months; compromised visits concentrate in such a window.' },
  cppMinCompromisedCards: { default: 5, why: 'Fewer distinct cards cannot separate a skimmer from chance overlap of everyday shopping.' },
  populationCompromiseRate: { default: 0.01, why: 'Share of cards compromised over the lookback in the population; the binomial baseline for a terminal.' },
  cppFalseDiscoveryRate: { default: 0.02, why: 'Benjamini–Hochberg over every terminal and merchant tested: at most about one named point of compromise in fifty is chance.' },
  cppExplainedShare: { default: 0.5, why: 'A candidate whose compromised cards mostly also visited a point of compromise already named is the shop next door, not a second skimmer.' },
  cppReferencePriorVisits: { default: 200, why: 'Weight, in card visits, of the population rate in a subject\'s own reference rate: a quiet terminal\'s few visits do not make a rate of their own.' },
  cppMinCityVisits: { default: 500, why: 'Card visits a city needs within a candidate\'s window before its own compromise rate is the background a candidate is tested against; below, the city is too quiet for a rate and the population\'s serves.' },
  pointOfFraudAlpha: { default: 0.0001, why: 'Disputes are rarer than compromises and come with the transactions named: with ~1,500 terminals, 1e-4 keeps chance below one per run. The p-value it is compared with counts every period of the disputed period\'s length in the window (the period is drawn around the disputes).' },
  pointOfFraudWindowDays: { default: 30, why: 'Disputes for a fake terminal or colluding merchant trickle in over weeks.' },
  pointOfFraudMinCards: { default: 3, why: 'Three distinct cardholders disputing the same terminal is a pattern, not bad luck.' },
  disputeBaseRate: { default: 0.002, why: 'Share of a terminal\'s cards that dispute a purchase as fraud in ordinary business.' },
  // terminal-compromise
  precursorMinEvents: { default: 3, why: 'Three authorisations with the same anomaly within a day rule out a single glitch.' },
  fallbackSurgeMinReads: { default: 5, why: 'Genuine chip read failures are well under 1%; five stripe reads of chip cards within the window at one terminal is not that.' },
  fallbackSurgeWindowHours: { default: 72, why: 'A tampered reader at a quiet till forces only the few chip cards a day that do not pay contactless onto the stripe: three days gather enough of them, and genuine chip failures stay well under 1% over any span.' },
  fallbackSurgeMinShare: { default: 0.3, why: 'Share of chip cards read without the chip; a tampered reader forces most of them.' },
  mposDisplacedKm: { default: 100, why: 'A mobile reader used more than 100 km from its registered address is not where it should be.' },
  securityFailureBurst: { default: 8, why: 'Eight failed PIN or cryptogram checks within an hour at one terminal.' },
  // card-testing
  cardTestingWindowMinutes: { default: 10, why: 'Testing scripts run through a list in minutes.' },
  cardTestingMinCards: { default: 12, why: 'A busy till sees a dozen cards in ten minutes, but not mostly declined and tiny.' },
  cardTestingMinDeclineShare: { default: 0.6, why: 'Most tested numbers are dead; genuine decline rates are a few percent.' },
  cardTestingMaxMedianMinor: { default: 500, why: 'Testers use amounts too small to be noticed (under 5.00).' },
  cardTestingSuppressionMinutes: { default: 60, why: 'One verdict per terminal per testing run: a script works through its list within the hour.' },
  // laundering-cashout
  merchantWindowDays: { default: 7, why: 'A week smooths weekday rhythms and is short enough to act on.' },
  merchantMinTransactions: { default: 20, why: 'Shares over fewer transactions are noise.' },
  merchantMinSignals: { default: 2, why: 'One odd ratio has innocent explanations; two independent ones rarely do.' },
  roundAmountShare: { default: 0.3, why: 'Share of purchases that are whole hundreds; real baskets rarely are, fake ones often.' },
  belowLimitShare: { default: 0.15, why: 'Share of amounts just under a reporting or approval limit.' },
  offHoursShare: { default: 0.3, why: 'Share of purchases while the merchant is registered as closed.' },
  topCardsShare: { default: 0.5, why: 'Share of the merchant\'s purchases made by its three most frequent cards.' },
  ticketMismatchFactor: { default: 4, why: 'Median ticket four times above (or below a quarter of) the MCC\'s reference does not fit the registered business.' },
  mccMismatchShare: { default: 0.3, why: 'Share of messages carrying an MCC other than the registered one.' },
  cardNotPresentShare: { default: 0.3, why: 'Share of card-not-present entries through card-present terminals.' },
  refundRatio: { default: 0.3, why: 'Refunds to purchases; ordinary retail is a few percent.' },
  volumeSpikeFactor: { default: 4, why: 'A week four times busier than the trailing weekly average.' },
  cashOutPairMinPurchases: { default: 4, why: 'A card making four large round or just-under-limit purchases at one merchant within the window.' },
  cashOutRingMinCards: { default: 3, why: 'Three cards each making a cash-out pair at one merchant within the window is a merchant in on it, not three unlucky customers: enough for a merchant verdict on its own.' },
  cashOutPairMinAmountMinor: { default: 50_000, why: 'Cash-out purchases are large: 500.00 and up.' },
  merchantSuppressionDays: { default: 7, why: 'One verdict per merchant per week.' },
  // decisions (a score for every authorisation; the points are the online model's starting weights)
  decisionPriorFraudRate: { default: 0.002, why: 'Share of authorisations that are fraud before anything is known about them (a few in a thousand, the card industry\'s order of magnitude): the score an authorisation with no evidence gets until outcomes teach the model the stream\'s own rate.' },
  decisionMinPurchases: { default: 5, why: 'A card\'s usual amount is only its own after five purchases; before, its amount says nothing about it.' },
  decisionMinSpread: { default: 0.25, why: 'No card\'s spread is taken narrower than a quarter of a log unit (about ±28%): a card that always paid the same is not alarming at twice that.' },
  decisionAmountSpreadPoints: { default: 1, why: 'Starting log-odds per spread of the card\'s log-amounts above its usual amount, beyond the first: a purchase three spreads above adds two.' },
  decisionAmountRatioPoints: { default: 1, why: 'Starting log-odds per natural-log unit of the amount over the card\'s usual amount: e times the usual adds one, twenty times adds three.' },
  decisionHabitSpreadPoints: { default: 0.5, why: 'Starting log-odds per spread above the card\'s habit for this kind of purchase (card-behaviour\'s profile, the population\'s while the card is new), beyond the first: half the weight of the card\'s own amounts, which it overlaps.' },
  decisionBurstPoints: { default: 0.5, why: 'Starting log-odds per unit of card-behaviour\'s burst score (unusual purchases within its window, this one included): the evidence of an alert before the alert.' },
  decisionCardReportedPoints: { default: 6, why: 'Starting log-odds for a card with fraud confirmed by an outcome reported before the authorisation, within decisionCardReportedDays: a compromised card is not safe until reissued.' },
  decisionCardReportedDays: { default: 30, why: 'A confirmed fraud on a card weighs for a month after its report; a card used later was reissued or kept by its holder.' },
  decisionCardAlertPoints: { default: 4, why: 'Starting log-odds for a card alert (cloned card, a burst of unusual purchases) raised on the card within decisionAlertDays: the card is in somebody else\'s hands.' },
  decisionAlertDays: { default: 7, why: 'An alert on a card or terminal weighs a week, as long as alerts are suppressed for (one episode).' },
  decisionFastFactor: { default: 3, why: 'A card buying three times its usual number of purchases a day (and at least three) within 24 hours is being spent fast.' },
  decisionFastPoints: { default: 1, why: 'Starting log-odds for fast spending: alone it is a busy day.' },
  decisionTerminalWindowDays: { default: 30, why: 'A terminal\'s confirmed fraud counts over the authorisations of the last 30 days: outcomes take days to weeks to arrive.' },
  decisionTerminalPriorAuthorisations: { default: 50, why: 'Weight, in authorisations, of the prior fraud rate in a terminal\'s own rate: two disputes among a quiet terminal\'s three authorisations are not yet a rate.' },
  decisionTerminalRatePoints: { default: 1, why: 'Starting log-odds per natural-log unit of the terminal\'s confirmed-fraud rate over the prior rate: ten times the prior adds 2.3.' },
  decisionTerminalAlertPoints: { default: 3, why: 'Starting log-odds for a terminal alert (tampering, card testing) at this terminal within decisionAlertDays.' },
  decisionLearningRate: { default: 0.01, why: 'Step of the online model per labelled authorisation (stochastic gradient descent on the log-loss): a few hundred labels move a weight by about one.' },
  decisionPriorStrength: { default: 0.001, why: 'Pull of each weight back toward its starting points per labelled authorisation: without labels for a piece of evidence, its weight stays what the settings say.' },
  decisionLabelMaturityDays: { default: 30, why: 'An authorisation no outcome disputed within 30 days of its event time is learned as genuine: most fraud is reported within weeks.' },
  decisionNegativeSampleShare: { default: 0.1, why: 'Share of genuine authorisations the model learns from (chosen by a hash of the eventId, so the same in every run); every fraudulent one is learned. The score is corrected for the sampling.' },
  decisionReviewScore: { default: 0.2, why: 'Score from which an authorisation is sent for review (by default; per acquirer in POSGUARD_DECISION_POLICY).' },
  decisionDeclineScore: { default: 0.8, why: 'Score from which an authorisation is declined (by default; per acquirer in POSGUARD_DECISION_POLICY).' },
  // alerts
  alertCriticalScore: { default: 0.9, why: 'An alert scored 0.9 or more is CRITICAL: the evidence leaves little doubt (a clone used in two places at once, a terminal named by a dozen cards).' },
  alertHighScore: { default: 0.75, why: 'From 0.75, HIGH: worth working today.' },
  alertMediumScore: { default: 0.5, why: 'From 0.5, MEDIUM; below, LOW.' },
  // event time
  allowedLatenessMinutes: { default: 10, why: 'How late (in event time) an input may arrive and still be processed in order.' },
} as const;

export type ThresholdName = keyof typeof thresholdSpecs;
export type Thresholds = { readonly [K in ThresholdName]: number };

export const defaultThresholds: Thresholds = Object.fromEntries(
  Object.entries(thresholdSpecs).map(([name, spec]) => [name, spec.default]),
) as Thresholds;

const versions = new WeakMap<Thresholds, string>();

/**
 * The version of a threshold set, named by its values: `t-` and the first 12 hex digits of the
 * SHA-256 of every threshold and its value, by name. The same settings give the same version in
 * every process and run; every alert names the one that raised it.
 */
export function thresholdsVersion(t: Thresholds): string {
  let version = versions.get(t);
  if (version === undefined) {
    const values = (Object.keys(thresholdSpecs) as ThresholdName[]).sort().map((name) => [name, t[name]]);
    version = `t-${createHash('sha256').update(JSON.stringify(values)).digest('hex').slice(0, 12)}`;
    versions.set(t, version);
  }
  return version;
}

export function envNameOf(name: ThresholdName): string {
  return `POSGUARD_THRESHOLD_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/**
 * Defaults overridden by POSGUARD_THRESHOLD_* variables. Fails naming the variable when a value is
 * not a non-negative number.
 */
export function thresholdsFromEnv(env: Readonly<Record<string, string | undefined>>): Thresholds {
  const values: Record<string, number> = { ...defaultThresholds };
  const problems: string[] = [];
  for (const name of Object.keys(thresholdSpecs) as ThresholdName[]) {
    const raw = env[envNameOf(name)]?.trim();
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) problems.push(`${envNameOf(name)}: "${raw}" is not a non-negative number`);
    else values[name] = value;
  }
  // A misspelled or retired threshold must not be ignored in silence: the operator believes it applies.
  const known = new Set((Object.keys(thresholdSpecs) as ThresholdName[]).map(envNameOf));
  for (const variable of Object.keys(env).sort()) {
    if (variable.startsWith('POSGUARD_THRESHOLD_') && !known.has(variable)) problems.push(`${variable}: no such threshold (see docs/DETECTORS.md)`);
  }
  if (problems.length > 0) {
    throw new PosguardError('POSGUARD_ERR_CONFIG_INVALID', `Invalid configuration:\n  ${problems.join('\n  ')}`,
      { variables: problems.map((p) => p.slice(0, p.indexOf(':'))) });
  }
  return Object.freeze(values) as Thresholds;
}

/**
 * Threshold overrides from a JSON object (`{"cardProfileBurstScore": 4}`; the variable names
 * `POSGUARD_THRESHOLD_*` are accepted too) on top of `base` environment variables. Unknown names fail.
 */
export function thresholdsWithOverrides(base: Readonly<Record<string, string | undefined>>, overrides: unknown, source: string): Thresholds {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new PosguardError('POSGUARD_ERR_CONFIG_INVALID', `${source}: thresholds must be a JSON object of name → number`);
  }
  const byEnvName = new Map((Object.keys(thresholdSpecs) as ThresholdName[]).map((name) => [envNameOf(name), name]));
  const env: Record<string, string | undefined> = { ...base };
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(overrides)) {
    const name = Object.hasOwn(thresholdSpecs, key) ? key as ThresholdName : byEnvName.get(key);
    if (name === undefined) unknown.push(key);
    else env[envNameOf(name)] = String(value);
  }
  if (unknown.length > 0) {
    throw new PosguardError('POSGUARD_ERR_CONFIG_INVALID', `${source}: unknown threshold ${unknown.map((u) => JSON.stringify(u)).join(', ')} (see docs/DETECTORS.md)`,
      { variables: unknown });
  }
  return thresholdsFromEnv(env);
}
