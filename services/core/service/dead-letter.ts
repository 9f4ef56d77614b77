/**
 * Builds the dead letter for a record a service could not take (nothing is dropped silently), and
 * keeps every letter safe to store: whoever wrote it, a letter holds no clear card number and no
 * unbounded client text, in its key, value, message or field errors (docs/SECURITY.md).
 */
import { isPosguardError } from '../errors.ts';
import { maskPansInBytes, maskPansInText } from '../pan.ts';
import type { DeadLetter, FieldError } from '../records.ts';
import { cutText } from '../text-bounds.ts';
import type { ConsumedRecord } from '../transport/port.ts';

const empty = Buffer.alloc(0);
/** A key longer than this is the client's text, not an id: kept cut. */
const maxKeyBytes = 256;
/** Messages and field errors quote client text at times. */
const maxMessageLength = 1_000;

const maskedValueOf = (error: unknown): Buffer | undefined =>
  isPosguardError(error) && Buffer.isBuffer(error.details.maskedValue) ? error.details.maskedValue : undefined;

/** Bytes as a letter keeps them: card numbers masked first (a cut could split one), then cut. */
function keptBytes(bytes: Buffer, limit: number): Buffer {
  const masked = maskPansInBytes(bytes);
  return masked.length <= limit ? masked : Buffer.concat([masked.subarray(0, limit), Buffer.from(`… (${masked.length} bytes)`)]);
}

const keptText = (text: string, limit = maxMessageLength) => cutText(maskPansInText(text), limit);

/** The key a dead letter is produced under: the original key, masked and bounded. */
export function deadLetterKey(key: Buffer | null | undefined): Buffer | null {
  return key === null || key === undefined ? null : keptBytes(key, maxKeyBytes);
}

/** A letter as it may be stored: masked and bounded in every field a client's text can reach. */
export function keptLetter(letter: DeadLetter): DeadLetter {
  return {
    ...letter,
    originalKey: keptBytes(letter.originalKey, maxKeyBytes),
    originalValue: maskPansInBytes(letter.originalValue),
    errorMessage: keptText(letter.errorMessage),
    fieldErrors: letter.fieldErrors.map((e) => ({ path: keptText(e.path, 300), message: keptText(e.message) })),
    letterId: letter.letterId === null ? null : keptText(letter.letterId, maxKeyBytes),
  };
}

export function deadLetterOf(service: string, record: ConsumedRecord | null, error: unknown, extra: { key?: Buffer; value?: Buffer } = {}): DeadLetter {
  const fieldErrors = isPosguardError(error) && Array.isArray(error.details.fieldErrors) ? (error.details.fieldErrors as FieldError[]) : [];
  return keptLetter({
    service,
    sourceTopic: record?.topic ?? null,
    sourcePartition: record?.partition ?? null,
    sourceOffset: record?.offset ?? null,
    originalKey: record?.key ?? extra.key ?? empty,
    // A record refused for a clear card number leaves only its masked form.
    originalValue: maskedValueOf(error) ?? record?.value ?? extra.value ?? empty,
    errorCode: isPosguardError(error) ? error.code : 'POSGUARD_ERR_PROCESSING_FAILED',
    errorMessage: error instanceof Error ? error.message : String(error),
    fieldErrors,
    failedAt: Date.now(),
    // Its source position identifies it.
    letterId: null,
  });
}
