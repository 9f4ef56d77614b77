/**
 * The records of the topic contract as TypeScript types, field for field the Avro schemas in
 * schemas/ (a unit test checks the two agree). Pure data: the domain code imports these, never
 * the codec.
 */

export type TransactionType = 'PURCHASE' | 'REFUND' | 'REVERSAL' | 'CASH_ADVANCE' | 'PRE_AUTH' | 'COMPLETION' | 'BALANCE_INQUIRY' | 'UNKNOWN';
export type EntryMode = 'CHIP' | 'CONTACTLESS' | 'MAGSTRIPE' | 'FALLBACK' | 'MANUAL' | 'ECOM' | 'QR' | 'UNKNOWN';
export type TerminalKind = 'ATTENDED_POS' | 'MPOS' | 'UNATTENDED' | 'SOFTPOS' | 'UNKNOWN' | 'VIRTUAL';
export type TerminalStatus = 'ACTIVE' | 'SUSPENDED' | 'DECOMMISSIONED' | 'UNKNOWN';
export type RiskTier = 'LOW' | 'MEDIUM' | 'HIGH' | 'UNKNOWN';
export type OutcomeKind = 'CONFIRMED_FRAUD' | 'CHARGEBACK' | 'COMPLAINT' | 'LOST_STOLEN' | 'FALSE_POSITIVE' | 'UNKNOWN';
export type Severity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'UNKNOWN';
export type SubjectType = 'CARD' | 'TERMINAL' | 'MERCHANT' | 'CARD_MERCHANT' | 'UNKNOWN';

export interface AuthorisationEvent {
  eventId: string;
  acquirerId: string;
  eventTime: number;
  cardToken: string;
  bin: string;
  last4: string;
  amountMinor: number;
  currency: string;
  transactionType: TransactionType;
  merchantId: string;
  terminalId: string;
  mcc: string;
  entryMode: EntryMode;
  cardPresent: boolean;
  pinVerified: boolean;
  cardChipCapable: boolean | null;
  atc: number | null;
  responseCode: string;
  terminalFirmwareHash: string | null;
  latitude: number | null;
  longitude: number | null;
}

export interface OpeningHours {
  opensAtMinute: number;
  closesAtMinute: number;
}

export interface MerchantProfile {
  merchantId: string;
  acquirerId: string;
  name: string;
  mcc: string;
  country: string;
  city: string;
  latitude: number;
  longitude: number;
  utcOffsetMinutes: number;
  openingHours: OpeningHours | null;
  onboardedAt: number;
  riskTier: RiskTier;
  expectedAverageTicketMinor: number | null;
  updatedAt: number;
}

export interface TerminalCapabilities {
  chip: boolean;
  contactless: boolean;
  pinPad: boolean;
}

export interface TerminalProfile {
  terminalId: string;
  merchantId: string;
  kind: TerminalKind;
  capabilities: TerminalCapabilities;
  latitude: number;
  longitude: number;
  firmwareVersion: string;
  firmwareHash: string;
  status: TerminalStatus;
  registeredAt: number;
  updatedAt: number;
  /** Null on profiles written before terminals named their acquirer. */
  acquirerId: string | null;
}

export interface CardOutcome {
  outcomeId: string;
  cardToken: string;
  kind: OutcomeKind;
  fraudRelated: boolean;
  reportedAt: number;
  disputedEventIds: string[];
  note: string | null;
  /** Who reported it; null: every acquirer that saw the card (network-wide, or from before outcomes were owned). */
  acquirerId: string | null;
}

export interface MerchantContext {
  mcc: string;
  country: string;
  city: string;
  latitude: number;
  longitude: number;
  riskTier: RiskTier;
  expectedAverageTicketMinor: number | null;
  onboardedAt: number;
}

export interface TerminalContext {
  merchantId: string;
  kind: TerminalKind;
  capabilities: TerminalCapabilities;
  latitude: number;
  longitude: number;
  firmwareHash: string;
  status: TerminalStatus;
}

export interface AuthorisationFeatures {
  unknownMerchant: boolean;
  unknownTerminal: boolean;
  terminalOfOtherMerchant: boolean;
  mccMismatch: boolean;
  chipCardReadWithoutChip: boolean;
  firmwareMismatch: boolean;
  distanceFromTerminalKm: number | null;
  localMinuteOfDay: number | null;
  outsideOpeningHours: boolean;
  cardNotPresentAtCardPresentTerminal: boolean;
  terminalInactive: boolean;
}

export interface EnrichedAuthorisation {
  authorisation: AuthorisationEvent;
  merchant: MerchantContext | null;
  terminal: TerminalContext | null;
  features: AuthorisationFeatures;
  enrichedAt: number;
}

export interface FraudAlert {
  alertId: string;
  detector: string;
  detectorVersion: string;
  severity: Severity;
  score: number;
  subjectType: SubjectType;
  subjectId: string;
  windowStart: number;
  windowEnd: number;
  evidenceEventIds: string[];
  reasonCodes: string[];
  explanation: string;
  measurements: Record<string, number>;
  detectedAt: number;
  emittedAt: number;
  /** The acquirer whose authorisations it is about (card alerts); null for terminal and merchant alerts. */
  acquirerId: string | null;
  /** The threshold set that raised it (`thresholdsVersion`); null on alerts from before versions were named. */
  thresholdsVersion: string | null;
}

export type DecisionKind = 'APPROVE' | 'REVIEW' | 'DECLINE' | 'UNKNOWN';

export interface DecisionReason {
  code: string;
  /** Log-odds added to the score. */
  points: number;
  explanation: string;
}

/** The verdict on one authorisation as it arrives (schemas/Decision.avsc). */
export interface Decision {
  eventId: string;
  acquirerId: string;
  cardToken: string;
  terminalId: string;
  merchantId: string;
  eventTime: number;
  amountMinor: number;
  currency: string;
  score: number;
  decision: DecisionKind;
  reasons: DecisionReason[];
  measurements: Record<string, number>;
  modelVersion: string;
  /** Wall clock at publication; eventTime in replay. */
  decidedAt: number;
}

export type AlertActionKind = 'ACKNOWLEDGED' | 'ASSIGNED' | 'CONFIRMED_FRAUD' | 'DISMISSED';

/** What an analyst did with an alert (schemas/AlertAction.avsc). */
export interface AlertAction {
  actionId: string;
  alertId: string;
  acquirerId: string;
  action: AlertActionKind;
  actor: string;
  keyHolder: string;
  assignee: string | null;
  reason: string | null;
  outcomeId: string | null;
  actedAt: number;
}

export interface FieldError {
  path: string;
  message: string;
}

/** Field errors in one line, for a message: `path: message; path: message`. */
export const summariseFieldErrors = (errors: readonly FieldError[]): string => errors.map((e) => `${e.path}: ${e.message}`).join('; ');

export interface DeadLetter {
  service: string;
  sourceTopic: string | null;
  sourcePartition: number | null;
  sourceOffset: number | null;
  originalKey: Buffer;
  originalValue: Buffer;
  errorCode: string;
  errorMessage: string;
  fieldErrors: FieldError[];
  failedAt: number;
  /** Identity of a rejection with no source position (HTTP ingest: `<request id>/<index>`). */
  letterId: string | null;
}

/** ISO 8583 response code for an approval; everything else is a decline. */
export const APPROVED = '00';
