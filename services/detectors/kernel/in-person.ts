import type { EnrichedAuthorisation } from '../../core/records.ts';

/**
 * The cardholder's card was at the terminal: card present, read by the terminal, and initiated by
 * the customer (refunds and reversals are merchant-initiated and prove nothing about the card).
 */
export function isInPersonUse(e: EnrichedAuthorisation): boolean {
  const a = e.authorisation;
  return a.cardPresent && a.entryMode !== 'ECOM' && a.entryMode !== 'MANUAL' && a.transactionType !== 'REFUND' && a.transactionType !== 'REVERSAL';
}
