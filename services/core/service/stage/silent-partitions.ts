/**
 * Event time on a silent partition: one that has had no record for `partitionIdleMs`, whose
 * upstream stages are caught up with their input, and that this member has read to its end
 * (checked in that order, at that moment) stops holding its task's watermark back. Checked between
 * batches, on a timer, so the last inputs of a stream are released once the stream goes quiet.
 */
import type { Transport } from '../../transport/port.ts';
import { readToEnd, type StageContext } from './context.ts';
import type { RecordCollector } from './record-collector.ts';
import type { StateManager } from './state-manager.ts';
import { inputPositions, type InputPartition } from './task.ts';
import type { TaskManager } from './task-manager.ts';

export class SilentPartitions {
  /** When each topic may be checked again: the checks cost admin requests. */
  private readonly nextCheckAt = new Map<string, number>();

  constructor(private readonly context: StageContext, private readonly tasks: TaskManager, private readonly collector: RecordCollector,
    private readonly state: StateManager, private readonly idleMs: number) {}

  /** Marks the silent partitions idle and commits what that releases, per task, with the offsets the task stands at and its new checkpoint. */
  async release(): Promise<void> {
    if (this.tasks.rebuilding() || !this.tasks.inLine()) return;
    const now = Date.now();
    const silent = [...this.tasks.tasks.values()].flatMap((t) => t.inputs).filter((p) => !p.idle && now - p.lastBatchAt >= this.idleMs);
    if (silent.length === 0) return;
    const nowIdle = await this.readToTheirEnd(silent, now);
    for (const task of this.tasks.tasks.values()) {
      const idleNow = task.inputs.filter((p) => nowIdle.has(p));
      if (idleNow.length === 0) continue;
      const before = task.processor.checkpoint?.();
      for (const p of idleNow) {
        task.processor.idle?.(p.topic, true);
        p.idle = true;
      }
      const outputs = this.collector.collect(task, []);
      if (outputs.size === 0 && task.processor.checkpoint?.() === before) continue;
      try {
        await this.collector.publish(task, outputs, inputPositions(task));
      } catch (error) {
        // What was released is not committed: rebuild the task before its next batch.
        this.tasks.markStale(task.partition);
        throw error;
      }
      this.state.snapshotIfDue(task);
    }
  }

  /** Of the silent partitions, those whose upstream is caught up and that this member has read to their end. */
  private async readToTheirEnd(silent: readonly InputPartition[], now: number): Promise<Set<InputPartition>> {
    const { deps, consumer } = this.context;
    const nowIdle = new Set<InputPartition>();
    for (const topic of new Set(silent.map((p) => p.topic))) {
      // A topic that just failed the checks waits a little.
      if (now < (this.nextCheckAt.get(topic) ?? 0)) continue;
      this.nextCheckAt.set(topic, now + this.idleMs / 2);
      let ends: Awaited<ReturnType<Transport['admin']['endOffsets']>>;
      try {
        // Upstream first: once it has consumed everything, all it wrote is already in this topic's log.
        if (deps.upstreamCaughtUp !== undefined && !(await deps.upstreamCaughtUp(topic))) continue;
        ends = await deps.transport.admin.endOffsets(topic);
      } catch (error) {
        deps.logger.debug({ group: deps.groupId, topic, error: (error as Error).message }, 'could not check for idle partitions; trying again later');
        continue;
      }
      for (const p of silent) {
        if (p.topic !== topic) continue;
        p.caughtUp = readToEnd(consumer, p, ends.find((e) => e.partition === p.partition)?.offset ?? 0);
        if (p.caughtUp) nowIdle.add(p);
      }
    }
    return nowIdle;
  }
}
