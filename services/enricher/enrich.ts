/**
 * Enrichment as a pure function: an authorisation joined with the merchant and terminal profiles
 * in force at its event time, and the features detectors read. Profiles are kept as short version
 * lists (event-sourced from the compacted profile topics) so the join depends on event time only,
 * never on which arrived first.
 */
import { distanceKm } from '../core/geo.ts';
import { isOpenAt, localMinuteOfDay } from '../core/opening-hours.ts';
import type {
  AuthorisationEvent,
  AuthorisationFeatures,
  EnrichedAuthorisation,
  MerchantProfile,
  TerminalProfile,
} from '../core/records.ts';

/** Versions kept per key: enough for any profile change within the allowed lateness. */
const versionsKept = 4;

export class ProfileTables {
  private readonly merchants = new Map<string, MerchantProfile[]>();
  private readonly terminals = new Map<string, TerminalProfile[]>();

  putMerchant(profile: MerchantProfile): void {
    put(this.merchants, profile.merchantId, profile);
  }

  putTerminal(profile: TerminalProfile): void {
    put(this.terminals, profile.terminalId, profile);
  }

  merchantAt(merchantId: string, time: number): MerchantProfile | undefined {
    return at(this.merchants.get(merchantId), time);
  }

  terminalAt(terminalId: string, time: number): TerminalProfile | undefined {
    return at(this.terminals.get(terminalId), time);
  }
}

function put<P extends { updatedAt: number }>(table: Map<string, P[]>, key: string, profile: P): void {
  const versions = table.get(key) ?? [];
  const same = versions.findIndex((v) => v.updatedAt === profile.updatedAt);
  if (same >= 0) versions[same] = profile;
  else versions.push(profile);
  versions.sort((a, b) => a.updatedAt - b.updatedAt);
  if (versions.length > versionsKept) versions.splice(0, versions.length - versionsKept);
  table.set(key, versions);
}

/** The latest version in force at `time`; the oldest known one if all are newer. */
function at<P extends { updatedAt: number }>(versions: P[] | undefined, time: number): P | undefined {
  if (versions === undefined || versions.length === 0) return undefined;
  for (let i = versions.length - 1; i >= 0; i--) if (versions[i]!.updatedAt <= time) return versions[i];
  return versions[0];
}

export function enrich(tables: ProfileTables, a: AuthorisationEvent): EnrichedAuthorisation {
  const merchant = tables.merchantAt(a.merchantId, a.eventTime);
  const terminal = tables.terminalAt(a.terminalId, a.eventTime);
  const stripe = a.entryMode === 'MAGSTRIPE' || a.entryMode === 'FALLBACK';
  const notPresent = !a.cardPresent || a.entryMode === 'ECOM' || a.entryMode === 'MANUAL';
  const minute = merchant === undefined ? null : localMinuteOfDay(a.eventTime, merchant.utcOffsetMinutes);
  const features: AuthorisationFeatures = {
    unknownMerchant: merchant === undefined,
    unknownTerminal: terminal === undefined,
    terminalOfOtherMerchant: terminal !== undefined && terminal.merchantId !== a.merchantId,
    mccMismatch: merchant !== undefined && merchant.mcc !== a.mcc,
    chipCardReadWithoutChip: a.cardChipCapable === true && stripe && terminal?.capabilities.chip === true,
    firmwareMismatch: terminal !== undefined && a.terminalFirmwareHash !== null && a.terminalFirmwareHash !== terminal.firmwareHash,
    distanceFromTerminalKm: terminal !== undefined && a.latitude !== null && a.longitude !== null
      ? distanceKm(terminal.latitude, terminal.longitude, a.latitude, a.longitude)
      : null,
    localMinuteOfDay: minute,
    outsideOpeningHours: merchant !== undefined && minute !== null && !isOpenAt(minute, merchant.openingHours),
    // A virtual terminal exists to take card-not-present payments: no signal there.
    cardNotPresentAtCardPresentTerminal: notPresent && terminal !== undefined && terminal.kind !== 'VIRTUAL',
    terminalInactive: terminal !== undefined && (terminal.status === 'SUSPENDED' || terminal.status === 'DECOMMISSIONED'),
  };
  return {
    authorisation: a,
    merchant: merchant === undefined ? null : {
      mcc: merchant.mcc, country: merchant.country, city: merchant.city, latitude: merchant.latitude, longitude: merchant.longitude,
      riskTier: merchant.riskTier, expectedAverageTicketMinor: merchant.expectedAverageTicketMinor, onboardedAt: merchant.onboardedAt,
    },
    terminal: terminal === undefined ? null : {
      merchantId: terminal.merchantId, kind: terminal.kind, capabilities: terminal.capabilities, latitude: terminal.latitude,
      longitude: terminal.longitude, firmwareHash: terminal.firmwareHash, status: terminal.status,
    },
    features,
    enrichedAt: a.eventTime,
  };
}
