/**
 * Topic records → ClickHouse rows (infra/clickhouse/). Column names are the Avro field names;
 * nested records are flattened where the table flattens them.
 */
import { topics } from '../core/codec/topics.ts';
import type { DeadLetter, Decision, EnrichedAuthorisation, MerchantProfile, TerminalProfile } from '../core/records.ts';

export function rowOf(topic: string, value: unknown): Record<string, unknown> {
  switch (topic) {
    case topics.merchantProfiles: {
      const { openingHours, ...rest } = value as MerchantProfile;
      return { ...rest, opensAtMinute: openingHours?.opensAtMinute ?? null, closesAtMinute: openingHours?.closesAtMinute ?? null };
    }
    case topics.terminalProfiles: {
      const { capabilities, ...rest } = value as TerminalProfile;
      return { ...rest, capabilityChip: capabilities.chip, capabilityContactless: capabilities.contactless, capabilityPinPad: capabilities.pinPad };
    }
    case topics.enrichedAuthorisations: {
      const { authorisation: a, merchant, terminal, features } = value as EnrichedAuthorisation;
      return {
        eventId: a.eventId, acquirerId: a.acquirerId, eventTime: a.eventTime, cardToken: a.cardToken, merchantId: a.merchantId, terminalId: a.terminalId,
        amountMinor: a.amountMinor, currency: a.currency, transactionType: a.transactionType, entryMode: a.entryMode, responseCode: a.responseCode, mcc: a.mcc,
        merchantRegisteredMcc: merchant?.mcc ?? null, merchantCountry: merchant?.country ?? null, merchantCity: merchant?.city ?? null,
        merchantRiskTier: merchant?.riskTier ?? null, terminalKind: terminal?.kind ?? null, terminalStatus: terminal?.status ?? null,
        ...features,
      };
    }
    case topics.deadLetters: {
      const d = value as DeadLetter;
      return { ...d, originalKey: d.originalKey.toString('latin1'), originalValue: d.originalValue.toString('latin1'), letterId: d.letterId ?? '' };
    }
    case topics.decisions: {
      const { reasons, ...rest } = value as Decision;
      return { ...rest, reasonCodes: reasons.map((r) => r.code), reasonPoints: reasons.map((r) => r.points), reasonExplanations: reasons.map((r) => r.explanation) };
    }
    default:
      return value as Record<string, unknown>;
  }
}
