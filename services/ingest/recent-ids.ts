/**
 * The ids accepted recently, for idempotent ingest: a bounded set that forgets the oldest first.
 * Resends older than the window are caught downstream (the tables collapse on ids).
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** Adds the id; false when it was already there. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }

  delete(id: string): void {
    this.ids.delete(id);
  }
}
