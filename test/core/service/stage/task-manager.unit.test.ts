import { describe, expect, it } from 'vitest';
import { RecordCollector } from '../../../../services/core/service/stage/record-collector.ts';
import { StateManager } from '../../../../services/core/service/stage/state-manager.ts';
import { TaskManager } from '../../../../services/core/service/stage/task-manager.ts';
import { harness, input, passingOn } from './harness.ts';

const heartbeat = async () => {};

async function managerOver(h: Awaited<ReturnType<typeof harness>>) {
  const stage = passingOn();
  const context = await h.context(stage.processor);
  const state = new StateManager(context, new RecordCollector(context));
  return { tasks: new TaskManager(context, state), counts: stage.counts, context };
}

describe('the task manager', () => {
  it('builds a task per assigned partition, its state replayed up to the committed offset', async () => {
    const h = await harness();
    await h.send(10);
    const { tasks, counts, context } = await managerOver(h);
    await context.consumer.commit([{ topic: input, partition: 0, offset: 6 }]);
    expect(tasks.inLine()).toBe(false);
    await tasks.sync(heartbeat);
    expect([...tasks.tasks.keys()].sort()).toEqual([0, 1]);
    expect(tasks.tasks.get(0)!.inputs[0]!.position).toBe(6);
    expect(counts.taken).toBe(6);
    expect(tasks.inLine()).toBe(true);
  });

  it('keeps tasks in line as they are, and rebuilds only a task marked stale or committed for by another member', async () => {
    const h = await harness();
    await h.send(10);
    const { tasks, counts, context } = await managerOver(h);
    await tasks.sync(heartbeat);
    const built = counts.built;
    await tasks.sync(heartbeat);
    expect(counts.built).toBe(built);

    tasks.markStale(1);
    expect(tasks.inLine()).toBe(false);
    await tasks.sync(heartbeat);
    expect(counts.built).toBe(built + 1);

    const before = tasks.tasks.get(0);
    // Another member took task 0 for a while and committed up to offset 4.
    await context.consumer.commit([{ topic: input, partition: 0, offset: 4 }]);
    tasks.markStale(1);
    await tasks.sync(heartbeat);
    expect(tasks.tasks.get(0)).not.toBe(before);
    expect(tasks.tasks.get(0)!.inputs[0]!.position).toBe(4);
  });
});
