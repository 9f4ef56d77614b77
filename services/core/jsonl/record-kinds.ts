/** The record kinds of the JSON Lines format, by the `type` field's value. */
export const recordKinds = {
  authorisation: { recordName: 'AuthorisationEvent' },
  merchant: { recordName: 'MerchantProfile' },
  terminal: { recordName: 'TerminalProfile' },
  outcome: { recordName: 'CardOutcome' },
} as const;

export type RecordKind = keyof typeof recordKinds;

export function isRecordKind(value: unknown): value is RecordKind {
  return typeof value === 'string' && Object.hasOwn(recordKinds, value);
}
