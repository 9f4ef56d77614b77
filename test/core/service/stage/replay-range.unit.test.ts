import { describe, expect, it } from 'vitest';
import { replayRange } from '../../../../services/core/service/stage/replay-input.ts';
import type { Task } from '../../../../services/core/service/stage/task.ts';
import { harness, input, passingOn } from './harness.ts';

const taskAt = (partition: number, position: number, earliest: number): Task => ({
  partition, key: `task-${partition}`, processor: passingOn().processor.task(partition), producer: undefined as never,
  inputs: [{ topic: input, partition, position, earliest, caughtUp: false, idle: false, lastBatchAt: 0 }], lastSnapshotAt: 0, lateReported: 0,
});

describe('what a rebuild replays', () => {
  it('starts after the snapshot or at what retention left, ends at the committed offset, and waits for no partition with nothing to replay', async () => {
    const context = await (await harness()).context(passingOn().processor);
    const { targets, startAt, total } = replayRange(context, [taskAt(0, 100, 0), taskAt(1, 50, 30), taskAt(2, 40, 0), taskAt(3, 20, 20)],
      new Map([[`${input}:2`, 40]]));
    expect(Object.fromEntries(startAt)).toEqual({ [`${input}:0`]: 0, [`${input}:1`]: 30, [`${input}:2`]: 40, [`${input}:3`]: 20 });
    // Task 2's snapshot is at its position and retention emptied task 3 up to its position: nothing to read.
    expect(Object.fromEntries(targets)).toEqual({ [`${input}:0`]: 100, [`${input}:1`]: 50 });
    expect(total).toBe(100 + 20);
  });
});
