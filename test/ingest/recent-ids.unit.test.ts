/** The window of recently accepted ids behind idempotent ingest. */
import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../services/ingest/recent-ids.ts';

describe('the window of recent ids', () => {
  it('refuses an id it holds and forgets the oldest once full', () => {
    const recent = new RecentIds(3);
    expect(['a', 'b', 'c'].map((id) => recent.add(id))).toEqual([true, true, true]);
    expect(recent.add('b')).toBe(false);
    expect(recent.add('d')).toBe(true);
    // 'a' was the oldest: forgotten, so taken again (the tables collapse such a late resend).
    expect(recent.add('a')).toBe(true);
    expect(['c', 'd', 'b'].map((id) => recent.add(id))).toEqual([false, false, true]);
  });

  it('keeps an id deleted and added again until its new turn comes', () => {
    const recent = new RecentIds(3);
    recent.add('a');
    recent.delete('a');
    recent.add('b');
    expect(recent.add('a')).toBe(true);
    // The ring comes round to a's first slot: a's later entry must survive that.
    recent.add('c');
    expect(recent.add('a')).toBe(false);
  });

  it('holds exactly its capacity across many turns of the ring', () => {
    const recent = new RecentIds(1000);
    for (let i = 0; i < 10_000; i++) recent.add(`id-${i}`);
    expect(recent.add('id-8999')).toBe(true);
    expect(recent.add('id-9999')).toBe(false);
  });
});
