/**
 * A tiny world for detector tests, built by code: two merchants in Paris, one in Berlin, their
 * terminals, and helpers that write authorisations and outcomes as acquirers would.
 */
import type { AuthorisationEvent, CardOutcome, EntryMode, MerchantProfile, TerminalProfile } from '../../services/core/records.ts';
import type { SpecRecord } from './specification.ts';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
/** Monday 2026-10-05 10:00 UTC (11:00 in Paris and Berlin). */
export const T0 = Date.UTC(2026, 9, 5, 10);

function merchant(merchantId: string, city: string, latitude: number, longitude: number, mcc = '5411'): MerchantProfile {
  return {
    merchantId, acquirerId: 'acq-1', name: `${city} shop`, mcc, country: city === 'Berlin' ? 'DE' : 'FR', city, latitude, longitude,
    utcOffsetMinutes: 60, openingHours: { opensAtMinute: 8 * 60, closesAtMinute: 20 * 60 }, onboardedAt: T0 - 400 * DAY, riskTier: 'LOW',
    expectedAverageTicketMinor: 3000, updatedAt: T0 - 10 * DAY,
  };
}

function terminal(terminalId: string, m: MerchantProfile, kind: TerminalProfile['kind'] = 'ATTENDED_POS'): TerminalProfile {
  return {
    terminalId, merchantId: m.merchantId, kind, capabilities: { chip: kind !== 'SOFTPOS' && kind !== 'VIRTUAL', contactless: kind !== 'VIRTUAL', pinPad: kind !== 'VIRTUAL' },
    latitude: m.latitude, longitude: m.longitude, firmwareVersion: '4.2.1', firmwareHash: 'sha256:registered', status: 'ACTIVE',
    registeredAt: T0 - 400 * DAY, updatedAt: T0 - 10 * DAY, acquirerId: m.acquirerId,
  };
}

export const paris = merchant('m-paris', 'Paris', 48.8566, 2.3522);
export const parisEast = merchant('m-paris-east', 'Paris', 48.8566, 2.42);
export const berlin = merchant('m-berlin', 'Berlin', 52.52, 13.405);
export const fuel = merchant('m-fuel', 'Paris', 48.86, 2.33, '5541');
export const jeweller = merchant('m-jeweller', 'Paris', 48.87, 2.34, '5944');

export const tills = {
  paris: terminal('t-paris-1', paris),
  paris2: terminal('t-paris-2', paris),
  parisEast: terminal('t-paris-east', parisEast),
  berlin: terminal('t-berlin', berlin),
  fuelPump: terminal('t-fuel-1', fuel, 'UNATTENDED'),
  jeweller: terminal('t-jeweller', jeweller),
  mobile: terminal('t-mobile', paris, 'MPOS'),
  web: terminal('t-web', paris, 'VIRTUAL'),
};

/** The registry: every merchant and terminal profile above. */
export function registry(): SpecRecord[] {
  return [
    ...[paris, parisEast, berlin, fuel, jeweller].map((record): SpecRecord => ({ ok: true, kind: 'merchant', record })),
    ...Object.values(tills).map((record): SpecRecord => ({ ok: true, kind: 'terminal', record })),
  ];
}

const merchants = [paris, parisEast, berlin, fuel, jeweller];
const mccOf = (merchantId: string | undefined) => merchants.find((m) => m.merchantId === merchantId)?.mcc ?? '5411';

let sequence = 0;

export interface PurchaseOptions {
  card?: string;
  at?: number;
  terminal?: TerminalProfile | string;
  merchantId?: string;
  amountMinor?: number;
  entryMode?: EntryMode;
  atc?: number | null;
  responseCode?: string;
  chipCard?: boolean;
  firmware?: string | null;
  position?: { latitude: number; longitude: number };
  mcc?: string;
  transactionType?: AuthorisationEvent['transactionType'];
}

export function purchase(o: PurchaseOptions = {}): SpecRecord & { kind: 'authorisation' } {
  const terminalProfile = typeof o.terminal === 'string' ? undefined : (o.terminal ?? tills.paris);
  const terminalId = typeof o.terminal === 'string' ? o.terminal : terminalProfile!.terminalId;
  const entryMode = o.entryMode ?? 'CHIP';
  const record: AuthorisationEvent = {
    eventId: `e-${++sequence}`, acquirerId: 'acq-1', eventTime: o.at ?? T0, cardToken: o.card ?? 'tok-alice', bin: '457173', last4: '0042',
    amountMinor: o.amountMinor ?? 2500, currency: 'EUR', transactionType: o.transactionType ?? 'PURCHASE',
    merchantId: o.merchantId ?? terminalProfile?.merchantId ?? 'm-paris', terminalId, mcc: o.mcc ?? mccOf(terminalProfile?.merchantId), entryMode,
    cardPresent: entryMode !== 'ECOM' && entryMode !== 'MANUAL', pinVerified: entryMode === 'CHIP', cardChipCapable: o.chipCard ?? true,
    atc: o.atc === undefined ? null : o.atc, responseCode: o.responseCode ?? '00', terminalFirmwareHash: o.firmware === undefined ? 'sha256:registered' : o.firmware,
    latitude: o.position?.latitude ?? null, longitude: o.position?.longitude ?? null,
  };
  return { ok: true, kind: 'authorisation', record };
}

export function outcome(o: { card: string; at: number; kind?: CardOutcome['kind']; disputed?: string[]; fraudRelated?: boolean; acquirer?: string }): SpecRecord {
  return {
    ok: true, kind: 'outcome',
    record: { outcomeId: `o-${++sequence}`, cardToken: o.card, kind: o.kind ?? 'CONFIRMED_FRAUD', fraudRelated: o.fraudRelated ?? true, reportedAt: o.at, disputedEventIds: o.disputed ?? [], note: null, acquirerId: o.acquirer ?? null },
  };
}

/** Any authorisation on a later day: moves event time on, so windows close and queues release. */
export const later = (at: number): SpecRecord => purchase({ card: 'tok-clock', at, terminal: tills.berlin });
