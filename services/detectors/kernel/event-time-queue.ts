/**
 * Orders a stage's inputs by event time before the detectors see them, so their verdicts do not
 * depend on how partitions interleaved on the way in. Inputs are held until the watermark passes
 * them; ties are broken by a stable id. The watermark is the event time every source (input
 * partition) has reached — the smallest of their latest times — minus the allowed lateness; an
 * idle source (caught up with its log and silent for a while) holds nothing back, so a quiet topic
 * (outcomes) cannot stall the others. A source advances with the inputs it delivers, or, where
 * several writers share a partition, with their watermark markers (`mark`). An input older than what was already released is late: it is released at once
 * and counted.
 */
export interface Timed {
  readonly time: number;
  /** Stable tie-breaker among inputs with the same time (event id, outcome id …). */
  readonly id: string;
}

export class EventTimeQueue<T extends Timed> {
  private heap: T[] = [];
  private maxSeen = Number.NEGATIVE_INFINITY;
  private readonly sources = new Map<string, { latest: number; idle: boolean }>();
  private released = Number.NEGATIVE_INFINITY;
  /**
   * The largest (time, id) released: every input at or below it has been released, late ones
   * included. Two fields rather than an object: it moves with every input released.
   */
  private releasedTime = Number.NEGATIVE_INFINITY;
  private releasedId: string | undefined;
  lateCount = 0;

  constructor(private readonly allowedLatenessMs: number) {}

  get size(): number {
    return this.heap.length;
  }

  /** Event time up to which inputs have been released. */
  get watermark(): number {
    return this.released;
  }

  /** `source` names the input partition the item came from, when there are several. */
  push(item: T, source?: string): void {
    if (item.time > this.maxSeen) this.maxSeen = item.time;
    if (source !== undefined) {
      const s = this.sources.get(source);
      if (s === undefined) this.sources.set(source, { latest: item.time, idle: false });
      else {
        if (item.time > s.latest) s.latest = item.time;
        s.idle = false;
      }
    }
    if (item.time < this.released) this.lateCount++;
    this.heap.push(item);
    this.up(this.heap.length - 1);
  }

  /**
   * A writer's promise that it will send nothing older than `time` any more (a watermark marker
   * from one instance of the upstream stage): its source no longer holds the watermark back below
   * that. With several upstream writers interleaving in one partition, each is a source of its own.
   */
  mark(source: string, time: number): void {
    if (time > this.maxSeen) this.maxSeen = time;
    const s = this.sources.get(source);
    if (s === undefined) this.sources.set(source, { latest: time, idle: false });
    else {
      if (time > s.latest) s.latest = time;
      s.idle = false;
    }
  }

  /**
   * Upstream progress without an input: a downstream stage whose own inputs are sparse (the
   * cluster arbiter) moves its watermark with the stage that feeds it.
   */
  advanceTo(time: number): void {
    if (time > this.maxSeen) this.maxSeen = time;
  }

  /**
   * Whether a source is idle: then it holds the watermark back no longer. A source named here before
   * it delivered anything holds the watermark at the beginning of time until it delivers or idles.
   */
  idle(source: string, idle: boolean): void {
    const s = this.sources.get(source);
    if (s === undefined) this.sources.set(source, { latest: Number.NEGATIVE_INFINITY, idle });
    else s.idle = idle;
  }

  private frontier(): number {
    let frontier = this.maxSeen;
    for (const s of this.sources.values()) if (!s.idle && s.latest < frontier) frontier = s.latest;
    return frontier;
  }

  /** Releases, in order, every input at or before the watermark (everything, when `all`). */
  drain(release: (item: T) => void, all = false): void {
    const limit = all ? Number.POSITIVE_INFINITY : this.frontier() - this.allowedLatenessMs;
    while (this.heap.length > 0 && this.heap[0]!.time <= limit) this.releaseTop(release);
  }

  private releaseTop(release: (item: T) => void): void {
    const item = this.pop();
    if (item.time > this.released) this.released = item.time;
    if (this.releasedId === undefined || this.releasedTime < item.time || (this.releasedTime === item.time && this.releasedId < item.id)) {
      this.releasedTime = item.time;
      this.releasedId = item.id;
    }
    release(item);
  }

  /**
   * What has been released, as a checkpoint: inputs are released in (time, id) order and late ones
   * below that order, so the released inputs are exactly those at or below this key.
   */
  checkpoint(): Timed | undefined {
    return this.releasedId === undefined ? undefined : { time: this.releasedTime, id: this.releasedId };
  }

  /**
   * Whether the queue holds inputs it would release by itself once its sources went idle (at or
   * below the latest time seen minus the allowed lateness), without any new input: a stage
   * downstream must not take this stage's silence for the end of its output yet.
   */
  holdsReleasable(): boolean {
    return this.heap.length > 0 && this.heap[0]!.time <= this.maxSeen - this.allowedLatenessMs;
  }

  /** Releases, in order, exactly the inputs at or below a checkpoint (rebuilding a stage's state). */
  releaseThrough(checkpoint: Timed, release: (item: T) => void): void {
    while (this.heap.length > 0 && !this.less(checkpoint, this.heap[0]!)) this.releaseTop(release);
  }

  private less(a: Timed, b: Timed): boolean {
    return a.time < b.time || (a.time === b.time && a.id < b.id);
  }

  private pop(): T {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      const item = h[i]!;
      h[i] = h[parent]!;
      h[parent] = item;
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < h.length && this.less(h[l]!, h[smallest]!)) smallest = l;
      if (r < h.length && this.less(h[r]!, h[smallest]!)) smallest = r;
      if (smallest === i) return;
      const item = h[i]!;
      h[i] = h[smallest]!;
      h[smallest] = item;
      i = smallest;
    }
  }
}
