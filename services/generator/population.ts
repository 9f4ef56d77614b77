/**
 * The synthetic population: merchants across cities and categories, their terminals, and
 * cardholders with home cities, spending habits and favourite merchants. A pure function of the
 * seed.
 */
import type { MerchantProfile, TerminalKind, TerminalProfile } from '../core/records.ts';
import { distanceKm } from '../core/geo.ts';
import type { Random } from './random.ts';
import { acquirers, bins, categories, cities, type City, type MerchantCategory } from './world.ts';

export interface Merchant {
  readonly profile: MerchantProfile;
  readonly category: MerchantCategory;
  readonly city: City;
  readonly terminals: Terminal[];
}

export interface Terminal {
  readonly profile: TerminalProfile;
  readonly merchant: Merchant;
}

export interface Card {
  readonly cardToken: string;
  readonly bin: string;
  readonly last4: string;
  readonly acquirerId: string;
  readonly home: City;
  /** Where the cardholder lives: most favourites are a short walk or drive from here. */
  readonly homePosition: { readonly latitude: number; readonly longitude: number };
  readonly chip: boolean;
  /** The cardholder's own price level: their tickets are the category's times this (a habit, narrower than the population's spread). */
  readonly ticketScale: number;
  /** Mean purchases per day. */
  readonly dailyRate: number;
  readonly favourites: Merchant[];
  /** ATC before the stream starts. */
  readonly initialAtc: number;
}

export interface Population {
  readonly merchants: Merchant[];
  readonly terminals: Terminal[];
  readonly cards: Card[];
  readonly merchantsByCity: Map<string, Merchant[]>;
}

/** Scatter around a city centre: urban merchants sit within about 8 km of it. */
function near(random: Random, city: City, km: number): { latitude: number; longitude: number } {
  const dLat = (random.normal() * km) / 111;
  const dLon = (random.normal() * km) / (111 * Math.cos((city.latitude * Math.PI) / 180));
  return { latitude: +(city.latitude + dLat).toFixed(5), longitude: +(city.longitude + dLon).toFixed(5) };
}

export function buildPopulation(random: Random, options: { cards: number; merchants: number; startTime: number }): Population {
  const cityWeights = cities.map((c) => c.weight);
  const onboardingBase = options.startTime - 400 * 86_400_000;
  const merchants: Merchant[] = [];
  const terminals: Terminal[] = [];

  for (let m = 0; m < options.merchants; m++) {
    const city = random.weighted(cities, cityWeights);
    const category = random.weighted(categories, categories.map((c) => c.merchantWeight));
    const position = near(random, city, 5);
    const merchantId = `m-${String(m + 1).padStart(6, '0')}`;
    const onboardedAt = onboardingBase + random.int(0, 300) * 86_400_000;
    const profile: MerchantProfile = {
      merchantId,
      acquirerId: random.pick(acquirers),
      name: `${random.pick(category.names)} ${city.name} ${m + 1}`,
      mcc: category.mcc,
      country: city.country,
      city: city.name,
      latitude: position.latitude,
      longitude: position.longitude,
      utcOffsetMinutes: city.utcOffsetMinutes,
      openingHours: category.openingHours,
      onboardedAt,
      riskTier: random.weighted(['LOW', 'MEDIUM', 'HIGH'] as const, [70, 25, 5]),
      expectedAverageTicketMinor: random.chance(0.8) ? Math.round(category.medianTicketMinor * Math.exp(0.25 * random.normal())) : null,
      updatedAt: onboardedAt,
    };
    const merchant: Merchant = { profile, category, city, terminals: [] };
    const count = random.int(category.terminalsPerMerchant[0], category.terminalsPerMerchant[1]);
    for (let t = 0; t < count; t++) {
      const kind: TerminalKind = random.pick(category.terminalKinds);
      const version = random.pick(['4.2.1', '4.3.0', '5.0.2']);
      const terminalProfile: TerminalProfile = {
        terminalId: `t-${String(m + 1).padStart(6, '0')}-${String(t + 1).padStart(2, '0')}`,
        merchantId,
        kind,
        capabilities: kind === 'VIRTUAL' ? { chip: false, contactless: false, pinPad: false } : {
          chip: kind !== 'SOFTPOS',
          contactless: kind !== 'UNATTENDED' || random.chance(0.6),
          pinPad: kind !== 'SOFTPOS' || random.chance(0.5),
        },
        // Mobile terminals are registered at the merchant's address but used around town.
        latitude: position.latitude,
        longitude: position.longitude,
        firmwareVersion: version,
        firmwareHash: `sha256:${random.hex(16)}`,
        status: 'ACTIVE',
        registeredAt: onboardedAt,
        updatedAt: onboardedAt,
        acquirerId: profile.acquirerId,
      };
      const terminal: Terminal = { profile: terminalProfile, merchant };
      merchant.terminals.push(terminal);
      terminals.push(terminal);
    }
    merchants.push(merchant);
  }

  const merchantsByCity = new Map<string, Merchant[]>();
  for (const merchant of merchants) {
    const list = merchantsByCity.get(merchant.city.name) ?? [];
    list.push(merchant);
    merchantsByCity.set(merchant.city.name, list);
  }

  const cards: Card[] = [];
  for (let c = 0; c < options.cards; c++) {
    const home = random.weighted(cities, cityWeights);
    const homePosition = near(random, home, 5);
    const local = merchantsByCity.get(home.name) ?? merchants;
    // People shop near home: a shop 2 km further away is about e times less likely a favourite (web shops are everywhere).
    const weights = local.map((m) => m.category.visitWeight * (m.category.terminalKinds.includes('VIRTUAL') ? 1
      : Math.exp(-distanceKm(homePosition.latitude, homePosition.longitude, m.profile.latitude, m.profile.longitude) / 2)));
    const favourites = new Set<Merchant>();
    const wanted = random.int(6, 12);
    for (let i = 0; i < wanted * 3 && favourites.size < wanted; i++) favourites.add(random.weighted(local, weights));
    cards.push({
      cardToken: `tok_${random.hex(16)}`,
      bin: random.pick(bins),
      last4: String(random.int(0, 9999)).padStart(4, '0'),
      acquirerId: random.pick(acquirers),
      home,
      homePosition,
      ticketScale: random.logNormal(1, 0.5),
      chip: random.chance(0.97),
      dailyRate: Math.min(5, random.logNormal(1.0, 0.5)),
      favourites: [...favourites],
      initialAtc: random.int(5, 900),
    });
  }

  return { merchants, terminals, cards, merchantsByCity };
}
