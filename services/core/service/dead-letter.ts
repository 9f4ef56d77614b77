/** Builds the dead letter for a record a service could not take (nothing is dropped silently). */
import { isPosguardError } from '../errors.ts';
import type { DeadLetter, FieldError } from '../records.ts';
import type { ConsumedRecord } from '../transport/port.ts';

const empty = Buffer.alloc(0);

export function deadLetterOf(service: string, record: ConsumedRecord | null, error: unknown, extra: { key?: Buffer; value?: Buffer } = {}): DeadLetter {
  const fieldErrors = isPosguardError(error) && Array.isArray(error.details.fieldErrors) ? (error.details.fieldErrors as FieldError[]) : [];
  return {
    service,
    sourceTopic: record?.topic ?? null,
    sourcePartition: record?.partition ?? null,
    sourceOffset: record?.offset ?? null,
    originalKey: record?.key ?? extra.key ?? empty,
    originalValue: record?.value ?? extra.value ?? empty,
    errorCode: isPosguardError(error) ? error.code : 'POSGUARD_ERR_PROCESSING_FAILED',
    errorMessage: error instanceof Error ? error.message : String(error),
    fieldErrors,
    failedAt: Date.now(),
    // Its source position identifies it.
    letterId: null,
  };
}
