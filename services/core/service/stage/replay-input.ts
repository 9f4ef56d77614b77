/**
 * The rebuild's replay: reads the tasks' input partitions from where their state starts (a
 * snapshot's positions, or the earliest offset retention left) up to their committed offsets, with
 * a private consumer group, feeding each task as it would have been fed; outputs are discarded
 * (they were committed already). A stop abandons it.
 */
import { randomUUID } from 'node:crypto';
import { PosguardError } from '../../errors.ts';
import type { Consumer, TopicPartitionOffset } from '../../transport/port.ts';
import type { StageContext } from './context.ts';
import { decodeBatch } from './decode-batch.ts';
import { partitionKey, type Task } from './task.ts';

/** Per input partition: where the replay starts, and where it ends (only partitions with something to replay). */
export function replayRange(context: StageContext, built: readonly Task[], covered: ReadonlyMap<string, number>) {
  const targets = new Map<string, number>();
  const startAt = new Map<string, number>();
  let deleted = 0;
  for (const p of built.flatMap((t) => t.inputs)) {
    const key = partitionKey(p.topic, p.partition);
    const from = Math.max(p.earliest, covered.get(key) ?? 0);
    startAt.set(key, from);
    // Input retention deleted below what the state starts from (its snapshot's position, or 0) is missing from it.
    deleted += Math.max(0, Math.min(p.earliest, p.position) - (covered.get(key) ?? 0));
    // A partition with nothing left to replay (a snapshot at its position, or retention emptied
    // it up to there) must not be waited for: no batch would ever come.
    if (p.position > from) targets.set(key, p.position);
  }
  if (deleted > 0) {
    context.deps.logger.warn({ group: context.deps.groupId, deleted }, 'input records below the committed offsets were deleted by retention and no snapshot covers them: the rebuilt state lacks them');
  }
  const total = [...targets].reduce((n, [key, offset]) => n + offset - (startAt.get(key) ?? 0), 0);
  return { targets, startAt, total };
}

export async function replayInput(context: StageContext, built: readonly Task[], heartbeat: () => Promise<void>, started: number,
  covered: ReadonlyMap<string, number>): Promise<void> {
  const { deps, stage } = context;
  const { targets, startAt, total } = replayRange(context, built, covered);
  deps.metrics.get('posguard_state_rebuild_records').set({ service: deps.service, group: deps.groupId, source: 'input' }, total);
  if (targets.size === 0) return;
  deps.logger.info({ group: deps.groupId, tasks: built.map((t) => t.key), partitions: targets.size, records: total }, 'replaying the input since the state it starts from');
  // The reader starts where the replay starts, and past the end of partitions it has nothing to replay from.
  const readerStarts: TopicPartitionOffset[] = [];
  for (const topic of stage.inputTopics) {
    for (const end of await deps.transport.admin.endOffsets(topic)) {
      const key = partitionKey(topic, end.partition);
      readerStarts.push({ topic, partition: end.partition, offset: targets.has(key) ? startAt.get(key) ?? 0 : end.offset });
    }
  }
  const reader = await deps.transport.consumer({ groupId: `${deps.groupId}.rebuild.${randomUUID()}`, topics: stage.inputTopics, maxBatchRecords: deps.maxBatchRecords, startAt: readerStarts });
  try {
    const replayed = await readUntil(context, reader, new Map(built.map((t) => [t.partition, t])), targets, total, heartbeat);
    deps.logger.info({ group: deps.groupId, tasks: built.map((t) => t.key), replayed, ms: Date.now() - started }, 'replayed the input; task state rebuilt');
  } finally {
    await reader.disconnect();
  }
}

/** Feeds the reader's batches to their tasks until every partition reached its target; returns the records read. */
function readUntil(context: StageContext, reader: Consumer, byPartition: ReadonlyMap<number, Task>, targets: ReadonlyMap<string, number>,
  total: number, heartbeat: () => Promise<void>): Promise<number> {
  const { deps, stopping } = context;
  const remaining = new Set(targets.keys());
  let replayed = 0;
  let reportedAt = Date.now();
  let abandon = () => {};
  return new Promise<number>((resolve, reject) => {
    abandon = () => reject(new PosguardError('POSGUARD_ERR_STAGE_STOPPING', `${deps.groupId}: stopped during the rebuild of its state`, { group: deps.groupId }));
    if (stopping.aborted) {
      abandon();
      return;
    }
    stopping.addEventListener('abort', abandon, { once: true });
    reader.run(async (batch) => {
      if (stopping.aborted) return;
      const key = partitionKey(batch.topic, batch.partition);
      const target = targets.get(key);
      if (target === undefined || !remaining.has(key)) return;
      const task = byPartition.get(batch.partition)!;
      // Dead letters were committed by the batch that first met them.
      await decodeBatch(deps, batch, (r) => r.offset < target, (value, recordKey) => task.processor.accept(batch.topic, value, recordKey));
      replayed += batch.records.length;
      if (Date.now() - reportedAt >= 10_000) {
        reportedAt = Date.now();
        deps.logger.info({ group: deps.groupId, replayed, records: total }, 'still rebuilding stage state');
      }
      // A long replay must not cost this member its place in the group (kafkajs throttles
      // heartbeats). If the group is rebalancing, this member must leave the batch to rejoin:
      // the rebuild is abandoned and done again for the new assignment.
      try {
        await heartbeat();
      } catch (error) {
        reject(error);
        return;
      }
      if (batch.nextOffset >= target) {
        remaining.delete(key);
        if (remaining.size === 0) resolve(replayed);
      }
    }).catch(reject);
  }).finally(() => {
    // The signal lives as long as the stage: each rebuild takes its listener away again.
    stopping.removeEventListener('abort', abandon);
  });
}
