/**
 * Reads a recorded stream (JSON Lines files, gzip or not) for `replay` and `backtest`: every line
 * parsed strictly, every rejected line counted by reason and optionally written out with it, and
 * the whole read refused when too much of it was rejected — a stream that is mostly garbage must
 * not look like a quiet day with no fraud.
 */
import { PosguardError } from '../core/errors.ts';
import type { SchemaCatalog } from '../core/codec/schema-catalog.ts';
import { LineWriter, readLines } from '../core/jsonl/jsonl.ts';
import { parseRecordLine, type LineRejection, type ParsedRecord } from '../core/jsonl/record-line.ts';

export type AcceptedRecord = Extract<ParsedRecord, { ok: true }>;

export interface ReadOptions {
  /** Accept unknown fields (counted as warnings) instead of rejecting the line. */
  readonly lenient: boolean;
  /** Largest share of lines that may be rejected before the read fails (0 … 1). */
  readonly maxRejectedShare: number;
  /** Where rejected lines go, with file, line number and reason. */
  readonly rejectedPath?: string;
}

export interface ReadSummary {
  readonly lines: number;
  readonly accepted: number;
  readonly rejected: Readonly<Partial<Record<LineRejection, number>>>;
  /** Lenient mode: accepted lines that carried unknown fields, by field name. */
  readonly unknownFields: Readonly<Record<string, number>>;
  /** The first few rejections, to show the user what went wrong. */
  readonly examples: readonly string[];
}

const exampleCount = 5;

export async function readRecordedStream(
  catalog: SchemaCatalog, paths: readonly string[], options: ReadOptions, onRecord: (record: AcceptedRecord) => void | Promise<void>,
): Promise<ReadSummary> {
  const rejectedOut = options.rejectedPath === undefined ? undefined : new LineWriter(options.rejectedPath);
  const rejected: Partial<Record<LineRejection, number>> = {};
  const unknownFields: Record<string, number> = {};
  const examples: string[] = [];
  let lines = 0;
  let accepted = 0;
  try {
    for (const path of paths) {
      for await (const { line, number } of readLines(path)) {
        lines++;
        const parsed = parseRecordLine(catalog, line, { lenient: options.lenient });
        if (!parsed.ok) {
          rejected[parsed.reason] = (rejected[parsed.reason] ?? 0) + 1;
          if (examples.length < exampleCount) examples.push(`${path}:${number}: ${parsed.reason}: ${parsed.message}`);
          await rejectedOut?.write(JSON.stringify({ file: path, line: number, reason: parsed.reason, kind: parsed.kind ?? null, error: parsed.message, fieldErrors: parsed.fieldErrors }));
          continue;
        }
        for (const field of parsed.unknownFields ?? []) unknownFields[field] = (unknownFields[field] ?? 0) + 1;
        accepted++;
        await onRecord(parsed);
      }
    }
  } finally {
    await rejectedOut?.close();
  }
  const summary: ReadSummary = { lines, accepted, rejected, unknownFields, examples };
  const rejectedCount = lines - accepted;
  if (lines === 0 || accepted === 0 || rejectedCount / lines > options.maxRejectedShare) {
    throw new PosguardError('POSGUARD_ERR_INPUT_REJECTED',
      `${rejectedCount} of ${lines} lines rejected (${describeRejections(summary)}), more than the ${(options.maxRejectedShare * 100).toFixed(1)}% allowed ` +
      `(--max-rejected-share)${lines === 0 ? ': the input is empty' : ''}${examples.length > 0 ? `; first ones:\n  ${examples.join('\n  ')}` : ''}`,
      { lines, accepted, rejected });
  }
  return summary;
}

export function describeRejections(summary: ReadSummary): string {
  const parts = Object.entries(summary.rejected).map(([reason, count]) => `${count} ${reason}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** One line for the user: what was read, what was refused and why, what was only warned about. */
export function readReport(summary: ReadSummary): string {
  const warned = Object.entries(summary.unknownFields).map(([field, count]) => `${count}× "${field}"`);
  return `read ${summary.lines} lines: ${summary.accepted} accepted, ${summary.lines - summary.accepted} rejected (${describeRejections(summary)})` +
    `${warned.length > 0 ? `; unknown fields accepted leniently: ${warned.join(', ')}` : ''}` +
    `${summary.examples.length > 0 ? `\nfirst rejections:\n  ${summary.examples.join('\n  ')}` : ''}`;
}
