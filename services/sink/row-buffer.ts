/**
 * The sink's buffer: rows per table and the offsets they came from, flushed together — rows
 * inserted first, offsets committed only once every table took its rows. A batch the store refuses
 * goes back into the buffer whole, with its offsets, for the next flush: nothing is skipped, and a
 * table that had taken its rows collapses the repeat.
 */
import type { TopicPartitionOffset } from '../core/transport/port.ts';
import type { RowStore } from './store.ts';

export interface RowBufferEvents {
  /** After the store accepted a flush, before its offsets are committed (the fault-injection window). */
  readonly inserted?: () => void;
  readonly refused?: (table: string) => void;
  /** A table took its rows (they may be taken again if a later table of the flush refuses). */
  readonly stored?: (table: string, rows: number) => void;
  readonly committed?: (offsets: readonly TopicPartitionOffset[], seconds: number) => void;
}

export class RowBuffer {
  private rows = new Map<string, Record<string, unknown>[]>();
  private offsets = new Map<string, TopicPartitionOffset>();
  private count = 0;
  private oldest = 0;
  private flushing: Promise<void> = Promise.resolve();
  /** Whether the store refused the last flush. */
  refused = false;

  constructor(private readonly store: RowStore, private readonly commit: (offsets: readonly TopicPartitionOffset[]) => Promise<void>,
    private readonly events: RowBufferEvents = {}) {}

  /** Records in the buffer, stored or not yet. */
  get buffered(): number {
    return this.count;
  }

  /** How long the oldest buffered record has waited, in ms (0 when empty). */
  age(now: number): number {
    return this.count === 0 ? 0 : now - this.oldest;
  }

  /** Adds a consumed batch: its rows for a table, and the offset after it. */
  add(table: string, rows: readonly Record<string, unknown>[], records: number, next: TopicPartitionOffset): void {
    if (this.count === 0) this.oldest = Date.now();
    const list = this.rows.get(table) ?? [];
    for (const row of rows) list.push(row);
    this.rows.set(table, list);
    this.count += records;
    this.offsets.set(`${next.topic}:${next.partition}`, next);
  }

  /** Inserts what is buffered and commits its offsets; one flush at a time (a timer and the consumer both call it). */
  flush(): Promise<void> {
    // A failed flush must not fail the ones queued after it: each starts from the buffer as it is.
    this.flushing = this.flushing.catch(() => undefined).then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.offsets.size === 0) return;
    const started = performance.now();
    const batch = [...this.rows.entries()];
    const commit = [...this.offsets.values()];
    const count = this.count;
    this.rows = new Map();
    this.offsets = new Map();
    this.count = 0;
    for (const [table, values] of batch) {
      if (values.length === 0) continue;
      try {
        await this.store.insert(table, values);
        this.events.stored?.(table, values.length);
      } catch (error) {
        this.events.refused?.(table);
        this.refused = true;
        // Put the whole batch back (tables already inserted collapse the repeat); offsets taken
        // by batches consumed meanwhile are newer and stay.
        for (const [t, v] of batch) this.rows.set(t, [...v, ...(this.rows.get(t) ?? [])]);
        for (const o of commit) if (!this.offsets.has(`${o.topic}:${o.partition}`)) this.offsets.set(`${o.topic}:${o.partition}`, o);
        this.count += count;
        throw error;
      }
    }
    this.events.inserted?.();
    this.refused = false;
    await this.commit(commit);
    this.events.committed?.(commit, (performance.now() - started) / 1000);
  }
}
