import { describe, expect, it } from 'vitest';
import type { StageProcessor } from '../../../../services/core/service/stage/processor.ts';
import { RecordCollector } from '../../../../services/core/service/stage/record-collector.ts';
import { SilentPartitions } from '../../../../services/core/service/stage/silent-partitions.ts';
import { StateManager } from '../../../../services/core/service/stage/state-manager.ts';
import { TaskManager } from '../../../../services/core/service/stage/task-manager.ts';
import { harness, input, outcome, output } from './harness.ts';

/** A stage whose tasks release one outcome when their input goes idle, and note what was marked. */
function releasingWhenIdle() {
  const marked: string[] = [];
  const processor: StageProcessor = {
    inputTopics: [input],
    stateful: true,
    task: (partition) => {
      let released = false;
      let idle = false;
      return {
        accept: () => {},
        idle: (topic, now) => { idle = now; if (now) marked.push(`${topic}:${partition}`); },
        collect: (emit) => {
          if (!idle || released) return;
          released = true;
          emit(output, `tok_${partition}`, outcome(partition), 1);
        },
        checkpoint: () => JSON.stringify({ time: released ? 1 : 0, id: 'x' }),
      };
    },
  };
  return { processor, marked };
}

async function silentOver(upstreamCaughtUp: () => Promise<boolean>) {
  const h = await harness();
  await h.send(3);
  const stage = releasingWhenIdle();
  const context = await h.context(stage.processor);
  const deps = { ...context.deps, upstreamCaughtUp };
  const ctx = { ...context, deps };
  const collector = new RecordCollector(ctx);
  const state = new StateManager(ctx, collector);
  const tasks = new TaskManager(ctx, state);
  await tasks.sync(async () => {});
  return { h, marked: stage.marked, silent: new SilentPartitions(ctx, tasks, collector, state, 0) };
}

describe('silent partitions', () => {
  it('stay holding event time back while their upstream is not caught up', async () => {
    const { h, marked, silent } = await silentOver(async () => false);
    await silent.release();
    expect(marked).toEqual([]);
    expect(h.log.log.topic(output).partitions.flat()).toHaveLength(0);
  });

  it('go idle once upstream is caught up, only where read to their end, and what that releases is published', async () => {
    const { h, marked, silent } = await silentOver(async () => true);
    await silent.release();
    // Partition 0 holds 3 records nobody has read yet: it is not at its end.
    expect(marked).toEqual([`${input}:1`]);
    expect(h.log.log.topic(output).partitions.flat()).toHaveLength(1);
    // Marked once: an idle partition is not checked again until it delivers.
    await silent.release();
    expect(marked).toEqual([`${input}:1`]);
  });
});
