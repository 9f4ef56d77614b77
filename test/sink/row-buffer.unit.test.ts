import { describe, expect, it } from 'vitest';
import type { TopicPartitionOffset } from '../../services/core/transport/port.ts';
import { RowBuffer } from '../../services/sink/row-buffer.ts';
import type { RowStore } from '../../services/sink/store.ts';

/** A store in memory that refuses the inserts into `refusing` while it is set. */
function memoryStore() {
  const tables = new Map<string, Record<string, unknown>[]>();
  const store: RowStore & { refusing: string | undefined } = {
    refusing: undefined,
    async insert(table, rows) {
      if (table === store.refusing) throw new Error(`${table}: disk full`);
      tables.set(table, [...(tables.get(table) ?? []), ...rows]);
    },
    async ownersOf() { return []; },
  };
  return { store, tables };
}

describe('the sink\'s row buffer', () => {
  it('commits offsets only after every table took its rows; a refused flush keeps rows and offsets for the next one', async () => {
    const { store, tables } = memoryStore();
    const commits: TopicPartitionOffset[][] = [];
    const refused: string[] = [];
    const buffer = new RowBuffer(store, async (o) => { commits.push([...o]); }, { refused: (t) => refused.push(t) });
    buffer.add('alerts', [{ id: 'a1' }], 1, { topic: 'fraud.alerts.v1', partition: 0, offset: 1 });
    buffer.add('auth_events', [{ id: 'e1' }, { id: 'e2' }], 2, { topic: 'auth.requests.v1', partition: 0, offset: 2 });
    store.refusing = 'auth_events';
    await expect(buffer.flush()).rejects.toThrow('disk full');
    expect({ commits, refused, buffered: buffer.buffered, isRefused: buffer.refused }).toEqual({ commits: [], refused: ['auth_events'], buffered: 3, isRefused: true });

    // Consumed meanwhile: its offset is newer than the refused batch's and stays.
    buffer.add('auth_events', [{ id: 'e3' }], 1, { topic: 'auth.requests.v1', partition: 0, offset: 3 });
    store.refusing = undefined;
    await buffer.flush();
    expect(commits.map((c) => [...c].sort((a, b) => a.topic.localeCompare(b.topic)))).toEqual([[{ topic: 'auth.requests.v1', partition: 0, offset: 3 }, { topic: 'fraud.alerts.v1', partition: 0, offset: 1 }]]);
    // The table that had taken its rows gets them again (its engine collapses the repeat); none is lost.
    expect(tables.get('alerts')!.map((r) => r.id)).toEqual(['a1', 'a1']);
    expect(tables.get('auth_events')!.map((r) => r.id)).toEqual(['e1', 'e2', 'e3']);
    expect({ buffered: buffer.buffered, isRefused: buffer.refused }).toEqual({ buffered: 0, isRefused: false });
  });

  it('flushes one at a time, and a flush with nothing consumed commits nothing', async () => {
    const { store } = memoryStore();
    const commits: number[] = [];
    const buffer = new RowBuffer(store, async (o) => { commits.push(o.length); });
    await buffer.flush();
    buffer.add('alerts', [{ id: 'a1' }], 1, { topic: 'fraud.alerts.v1', partition: 0, offset: 1 });
    await Promise.all([buffer.flush(), buffer.flush()]);
    expect(commits).toEqual([1]);
  });
});
