/**
 * The ids accepted recently, for idempotent ingest: a bounded window that forgets the oldest first.
 * Resends older than the window are caught downstream (the tables collapse on ids).
 *
 * A ring of slots remembers the order: evicting the oldest is one step. (Deleting the first entry
 * of a Set over and over made V8 skip ever more deleted entries: once a million-id window was full,
 * ingest ran about ten times slower.)
 */
export class RecentIds {
  /** Each id held, and the slot of the ring it occupies. */
  private readonly ids = new Map<string, number>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }

  /** Adds the id; false when it was already there. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    const evicted = this.ring[this.next];
    // The slot's id may have been deleted and added again since, into another slot: that one stays.
    if (evicted !== undefined && this.ids.get(evicted) === this.next) this.ids.delete(evicted);
    this.ring[this.next] = id;
    this.ids.set(id, this.next);
    this.next = (this.next + 1) % this.capacity;
    return true;
  }

  delete(id: string): void {
    this.ids.delete(id);
  }
}
