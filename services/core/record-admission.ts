/**
 * The door for records produced straight to Kafka (no HTTP ingest checked them): no clear card
 * number, and values that make sense (semantic-validation.ts). A refusal is thrown, for the
 * reader to dead-letter the record with its code and the fields named.
 */
import { PosguardError } from './errors.ts';
import { recordKinds, type RecordKind } from './jsonl/record-kinds.ts';
import { refuseClearPans } from './pan.ts';
import { summariseFieldErrors } from './records.ts';
import { oversizedText } from './text-bounds.ts';
import { recordErrors, type SemanticContext } from './semantic-validation.ts';

export function admitRecord(kind: RecordKind, record: unknown, topic: string, context: SemanticContext = {}): void {
  // Bounded before anything reads it, as at HTTP ingest.
  const oversized = oversizedText(record);
  if (oversized !== undefined) {
    throw new PosguardError('POSGUARD_ERR_RECORD_INVALID_VALUE', `not a meaningful ${recordKinds[kind].recordName}: ${summariseFieldErrors([oversized])}`, { fieldErrors: [oversized] });
  }
  refuseClearPans(record, topic);
  const fieldErrors = recordErrors(kind, record, context);
  if (fieldErrors.length > 0) {
    throw new PosguardError('POSGUARD_ERR_RECORD_INVALID_VALUE',
      `not a meaningful ${recordKinds[kind].recordName}: ${summariseFieldErrors(fieldErrors)}`, { fieldErrors });
  }
}
