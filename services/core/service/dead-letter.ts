/** Builds the dead letter for a record a service could not take (nothing is dropped silently). */
import { isPosguardError } from '../errors.ts';
import { maskClearPans } from '../pan.ts';
import type { DeadLetter, FieldError } from '../records.ts';
import type { ConsumedRecord } from '../transport/port.ts';

const empty = Buffer.alloc(0);

const maskedValueOf = (error: unknown): Buffer | undefined =>
  isPosguardError(error) && Buffer.isBuffer(error.details.maskedValue) ? error.details.maskedValue : undefined;

/** The key of a record refused for a clear card number, masked too: it is often the card number itself. */
const maskedKeyOf = (error: unknown, key: Buffer | undefined): Buffer | undefined =>
  maskedValueOf(error) === undefined || key === undefined ? undefined : Buffer.from(String(maskClearPans(key.toString('latin1'))), 'latin1');

export function deadLetterOf(service: string, record: ConsumedRecord | null, error: unknown, extra: { key?: Buffer; value?: Buffer } = {}): DeadLetter {
  const fieldErrors = isPosguardError(error) && Array.isArray(error.details.fieldErrors) ? (error.details.fieldErrors as FieldError[]) : [];
  return {
    service,
    sourceTopic: record?.topic ?? null,
    sourcePartition: record?.partition ?? null,
    sourceOffset: record?.offset ?? null,
    originalKey: maskedKeyOf(error, record?.key ?? extra.key) ?? record?.key ?? extra.key ?? empty,
    // A record refused for a clear card number leaves only its masked form.
    originalValue: maskedValueOf(error) ?? record?.value ?? extra.value ?? empty,
    errorCode: isPosguardError(error) ? error.code : 'POSGUARD_ERR_PROCESSING_FAILED',
    errorMessage: error instanceof Error ? error.message : String(error),
    fieldErrors,
    failedAt: Date.now(),
    // Its source position identifies it.
    letterId: null,
  };
}
