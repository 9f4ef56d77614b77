import { describe, expect, it } from 'vitest';
import { EventTimeQueue, type Timed } from '../../services/detectors/kernel/event-time-queue.ts';

const item = (time: number, id = String(time)): Timed => ({ time, id });
const drained = (q: EventTimeQueue<Timed>, all = false) => {
  const out: number[] = [];
  q.drain((i) => out.push(i.time), all);
  return out;
};

describe('the event-time queue', () => {
  it('releases inputs in event-time order once the watermark (latest time minus lateness) passes them', () => {
    const q = new EventTimeQueue<Timed>(10);
    for (const t of [5, 3, 20, 8]) q.push(item(t));
    expect(drained(q)).toEqual([3, 5, 8]);
    q.push(item(40));
    expect(drained(q)).toEqual([20]);
    expect(drained(q, true)).toEqual([40]);
  });

  it('counts an input older than what it released as late, and releases it at once', () => {
    const q = new EventTimeQueue<Timed>(10);
    q.push(item(100));
    q.push(item(50));
    drained(q);
    q.push(item(60));
    expect(q.lateCount).toBe(0); // newer than anything released: in time
    q.push(item(40));
    expect(drained(q)).toEqual([40, 60]);
    expect(q.lateCount).toBe(1);
  });

  it('holds event time at the slowest partition, unless that partition is idle', () => {
    const q = new EventTimeQueue<Timed>(0);
    q.push(item(100), 'a');
    q.push(item(10), 'b');
    q.idle('c', false); // assigned, nothing delivered yet
    expect(drained(q)).toEqual([]);
    q.idle('c', true);
    expect(drained(q)).toEqual([10]);
    q.idle('b', true);
    expect(drained(q)).toEqual([100]);
  });

  it('checkpoints what it released, so a replayed queue releases exactly the same inputs', () => {
    const live = new EventTimeQueue<Timed>(10);
    for (const t of [1, 30, 2, 15]) live.push(item(t));
    drained(live);
    const checkpoint = live.checkpoint()!;
    const rebuilt = new EventTimeQueue<Timed>(10);
    for (const t of [1, 30, 2, 15]) rebuilt.push(item(t));
    const released: number[] = [];
    rebuilt.releaseThrough(checkpoint, (i) => released.push(i.time));
    expect(released).toEqual([1, 2, 15]);
    expect(rebuilt.size).toBe(1);
  });
});
