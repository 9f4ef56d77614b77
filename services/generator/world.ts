/**
 * The synthetic world the generator draws from: cities with positions and UTC offsets, and how
 * merchants of each category behave (ticket sizes, hours, terminals, entry modes). The numbers are
 * plausible European card-present figures, not any real acquirer's data.
 */
import type { OpeningHours, TerminalKind } from '../core/records.ts';

export interface City {
  readonly name: string;
  readonly country: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly utcOffsetMinutes: number;
  /** Relative share of cardholders and merchants. */
  readonly weight: number;
}

export const cities: readonly City[] = [
  { name: 'Paris', country: 'FR', latitude: 48.8566, longitude: 2.3522, utcOffsetMinutes: 60, weight: 14 },
  { name: 'Lyon', country: 'FR', latitude: 45.764, longitude: 4.8357, utcOffsetMinutes: 60, weight: 6 },
  { name: 'Marseille', country: 'FR', latitude: 43.2965, longitude: 5.3698, utcOffsetMinutes: 60, weight: 5 },
  { name: 'Berlin', country: 'DE', latitude: 52.52, longitude: 13.405, utcOffsetMinutes: 60, weight: 11 },
  { name: 'Munich', country: 'DE', latitude: 48.1351, longitude: 11.582, utcOffsetMinutes: 60, weight: 6 },
  { name: 'Madrid', country: 'ES', latitude: 40.4168, longitude: -3.7038, utcOffsetMinutes: 60, weight: 10 },
  { name: 'Barcelona', country: 'ES', latitude: 41.3874, longitude: 2.1686, utcOffsetMinutes: 60, weight: 8 },
  { name: 'Milan', country: 'IT', latitude: 45.4642, longitude: 9.19, utcOffsetMinutes: 60, weight: 7 },
  { name: 'Rome', country: 'IT', latitude: 41.9028, longitude: 12.4964, utcOffsetMinutes: 60, weight: 8 },
  { name: 'Amsterdam', country: 'NL', latitude: 52.3676, longitude: 4.9041, utcOffsetMinutes: 60, weight: 6 },
  { name: 'Lisbon', country: 'PT', latitude: 38.7223, longitude: -9.1393, utcOffsetMinutes: 0, weight: 5 },
  { name: 'Athens', country: 'GR', latitude: 37.9838, longitude: 23.7275, utcOffsetMinutes: 120, weight: 5 },
  { name: 'Warsaw', country: 'PL', latitude: 52.2297, longitude: 21.0122, utcOffsetMinutes: 60, weight: 6 },
];

export interface MerchantCategory {
  readonly mcc: string;
  readonly label: string;
  /** Share of merchants in this category. */
  readonly merchantWeight: number;
  /** How often cardholders pick this category for a purchase. */
  readonly visitWeight: number;
  /** Median ticket in minor units and its log-space spread. */
  readonly medianTicketMinor: number;
  readonly ticketSigma: number;
  /** Share of tickets that are whole round amounts (prepaid fuel, set menus …). */
  readonly roundAmountShare: number;
  readonly openingHours: OpeningHours | null;
  readonly terminalKinds: readonly TerminalKind[];
  readonly terminalsPerMerchant: readonly [number, number];
  readonly refundRate: number;
  readonly names: readonly string[];
}

const h = (opens: number, closes: number): OpeningHours => ({ opensAtMinute: opens * 60, closesAtMinute: closes * 60 });

export const categories: readonly MerchantCategory[] = [
  { mcc: '5411', label: 'grocery', merchantWeight: 18, visitWeight: 34, medianTicketMinor: 3200, ticketSigma: 0.75, roundAmountShare: 0.01, openingHours: h(7, 22), terminalKinds: ['ATTENDED_POS'], terminalsPerMerchant: [2, 5], refundRate: 0.004, names: ['Fresh Corner', 'Market Hall', 'Daily Basket', 'Green Grocer'] },
  { mcc: '5812', label: 'restaurant', merchantWeight: 14, visitWeight: 12, medianTicketMinor: 4200, ticketSigma: 0.6, roundAmountShare: 0.05, openingHours: h(11, 23), terminalKinds: ['ATTENDED_POS', 'MPOS'], terminalsPerMerchant: [1, 3], refundRate: 0.002, names: ['Trattoria', 'Bistro', 'Brasserie', 'Taverna'] },
  { mcc: '5814', label: 'fast food', merchantWeight: 9, visitWeight: 12, medianTicketMinor: 1100, ticketSigma: 0.5, roundAmountShare: 0.02, openingHours: h(10, 23), terminalKinds: ['ATTENDED_POS', 'UNATTENDED'], terminalsPerMerchant: [1, 4], refundRate: 0.002, names: ['Quick Bite', 'Burger Stop', 'Wrap & Go'] },
  { mcc: '5541', label: 'fuel station', merchantWeight: 8, visitWeight: 9, medianTicketMinor: 5500, ticketSigma: 0.45, roundAmountShare: 0.25, openingHours: null, terminalKinds: ['UNATTENDED', 'ATTENDED_POS'], terminalsPerMerchant: [2, 4], refundRate: 0.001, names: ['Fuel Point', 'Autostop', 'Route Service'] },
  { mcc: '5912', label: 'pharmacy', merchantWeight: 7, visitWeight: 6, medianTicketMinor: 2300, ticketSigma: 0.7, roundAmountShare: 0.01, openingHours: h(8, 20), terminalKinds: ['ATTENDED_POS'], terminalsPerMerchant: [1, 2], refundRate: 0.003, names: ['City Pharmacy', 'Apotheke', 'Farmacia'] },
  { mcc: '5311', label: 'department store', merchantWeight: 4, visitWeight: 5, medianTicketMinor: 7800, ticketSigma: 0.8, roundAmountShare: 0.01, openingHours: h(9, 21), terminalKinds: ['ATTENDED_POS'], terminalsPerMerchant: [3, 6], refundRate: 0.02, names: ['Galeries', 'Kaufhaus', 'Grand Magasin'] },
  { mcc: '5732', label: 'electronics', merchantWeight: 5, visitWeight: 2.5, medianTicketMinor: 19000, ticketSigma: 1.0, roundAmountShare: 0.02, openingHours: h(9, 20), terminalKinds: ['ATTENDED_POS'], terminalsPerMerchant: [1, 3], refundRate: 0.025, names: ['Tech World', 'Elektro', 'Digital Store'] },
  { mcc: '5691', label: 'clothing', merchantWeight: 9, visitWeight: 5, medianTicketMinor: 6500, ticketSigma: 0.7, roundAmountShare: 0.03, openingHours: h(10, 20), terminalKinds: ['ATTENDED_POS', 'SOFTPOS'], terminalsPerMerchant: [1, 3], refundRate: 0.03, names: ['Mode', 'Boutique', 'Outfitters'] },
  { mcc: '4121', label: 'taxi', merchantWeight: 6, visitWeight: 4, medianTicketMinor: 2400, ticketSigma: 0.55, roundAmountShare: 0.08, openingHours: null, terminalKinds: ['MPOS', 'SOFTPOS'], terminalsPerMerchant: [1, 2], refundRate: 0.002, names: ['City Cab', 'Taxi Express', 'Radio Taxi'] },
  { mcc: '7011', label: 'hotel', merchantWeight: 5, visitWeight: 1.5, medianTicketMinor: 16000, ticketSigma: 0.6, roundAmountShare: 0.05, openingHours: null, terminalKinds: ['ATTENDED_POS'], terminalsPerMerchant: [1, 3], refundRate: 0.01, names: ['Grand Hotel', 'Hotel Central', 'Inn'] },
  { mcc: '5944', label: 'jewellery', merchantWeight: 4, visitWeight: 0.8, medianTicketMinor: 32000, ticketSigma: 0.9, roundAmountShare: 0.15, openingHours: h(10, 19), terminalKinds: ['ATTENDED_POS'], terminalsPerMerchant: [1, 2], refundRate: 0.01, names: ['Joaillerie', 'Goldsmith', 'Gioielleria'] },
  { mcc: '5964', label: 'web shop', merchantWeight: 4, visitWeight: 2, medianTicketMinor: 4500, ticketSigma: 0.8, roundAmountShare: 0.01, openingHours: null, terminalKinds: ['VIRTUAL'], terminalsPerMerchant: [1, 1], refundRate: 0.03, names: ['Webstore', 'Online Shop', 'E-Boutique'] },
  { mcc: '5999', label: 'miscellaneous retail', merchantWeight: 11, visitWeight: 6, medianTicketMinor: 3800, ticketSigma: 0.8, roundAmountShare: 0.03, openingHours: h(9, 20), terminalKinds: ['ATTENDED_POS', 'MPOS', 'SOFTPOS'], terminalsPerMerchant: [1, 2], refundRate: 0.01, names: ['Corner Shop', 'Gift Store', 'Bazaar'] },
];

/** Relative purchase activity by local hour of day (0–23). */
export const hourlyActivity: readonly number[] = [
  0.3, 0.15, 0.1, 0.08, 0.08, 0.2, 0.6, 1.6, 2.6, 3.2, 3.8, 4.6, 5.6, 5.2, 4.4, 4.2, 4.6, 5.4, 6.0, 5.4, 4.2, 3.0, 1.8, 0.8,
];

/** Relative activity by day of week, Monday first. */
export const weekdayActivity: readonly number[] = [0.92, 0.95, 0.97, 1.0, 1.12, 1.25, 0.79];

export const bins: readonly string[] = ['457173', '535522', '492181', '516732', '404172', '545762', '479126', '521729'];

export const acquirers: readonly string[] = ['acq-eu-01', 'acq-eu-02', 'acq-eu-03'];
