/**
 * A task's state: built for a partition (its producer opened first, which fences any previous
 * owner), restored from the newest snapshot of it and the input after that snapshot (or the whole
 * input retention left), brought to the committed checkpoint; and snapshotted while it runs.
 */
import { SnapshotStore } from '../state-snapshots.ts';
import type { StageContext } from './context.ts';
import type { RecordCollector } from './record-collector.ts';
import { replayInput } from './replay-input.ts';
import { newerCheckpoint, partitionKey, taskKey, type InputPartition, type Task } from './task.ts';

interface CommittedOffset {
  readonly offset: number;
  readonly metadata?: string | null;
}

export class StateManager {
  /** Undefined when snapshots are off or the stage's tasks cannot take them. */
  private readonly snapshots: SnapshotStore | undefined;
  private writing: Promise<void> | undefined;

  constructor(private readonly context: StageContext, private readonly collector: RecordCollector) {
    const { deps, stage } = context;
    const probe = stage.task(0);
    this.snapshots = deps.snapshotIntervalMs !== undefined && probe.snapshot !== undefined && probe.restoreSnapshot !== undefined
      ? new SnapshotStore(deps.transport, deps.groupId, stage.stateVersion ?? 'unversioned', deps.logger) : undefined;
  }

  async open(): Promise<void> {
    await this.snapshots?.ensureTopic();
  }

  /** (Re)builds tasks: their producers first (fencing whoever wrote for them before), then their state. */
  async build(partitions: readonly number[], heartbeat: () => Promise<void>): Promise<Task[]> {
    const { deps, stage } = this.context;
    const started = Date.now();
    const producers = await Promise.all(partitions.map(async (partition) => {
      const producer = await deps.transport.transactionalProducer(`${deps.transactionalId}.task-${partition}`);
      await this.collector.warmUp(producer, partition);
      return producer;
    }));
    // Read after the producers fenced any previous owner: nothing can be committed behind our back now.
    const ends = new Map<string, number>();
    const starts = new Map<string, number>();
    const committed = new Map<string, CommittedOffset>();
    for (const topic of stage.inputTopics) {
      const [c, s, e] = await Promise.all([deps.transport.admin.committedOffsets(deps.groupId, topic), deps.transport.admin.startOffsets(topic), deps.transport.admin.endOffsets(topic)]);
      for (const o of c) committed.set(partitionKey(topic, o.partition), o);
      for (const o of s) starts.set(partitionKey(topic, o.partition), o.offset);
      for (const o of e) ends.set(partitionKey(topic, o.partition), o.offset);
    }
    const checkpoints = new Map<number, string | undefined>();
    const built = partitions.map((partition, i): Task => {
      const { inputs, checkpoint } = this.inputsOf(partition, { committed, starts, ends }, started);
      checkpoints.set(partition, checkpoint);
      return { partition, key: taskKey(partition), processor: stage.task(partition), producer: producers[i]!, inputs, lastSnapshotAt: Date.now(), lateReported: 0 };
    });
    try {
      if (stage.stateful) {
        await replayInput(this.context, built, heartbeat, started, await this.restoreNewestSnapshots(built));
        for (const task of built) task.processor.restore?.(checkpoints.get(task.partition));
      }
    } catch (error) {
      await Promise.all(built.map((t) => t.producer.disconnect().catch(() => undefined)));
      throw error;
    }
    for (const task of built) {
      for (const p of task.inputs) task.processor.idle?.(p.topic, false);
      task.lastSnapshotAt = Date.now();
      task.lateReported = task.processor.lateInputs?.() ?? 0;
    }
    return built;
  }

  /** Where a task stands in each input partition, and the newest checkpoint committed with them (none if a topic was created again). */
  private inputsOf(partition: number, offsets: { committed: Map<string, CommittedOffset>; starts: Map<string, number>; ends: Map<string, number> }, started: number) {
    const { deps, stage } = this.context;
    const inputs: InputPartition[] = [];
    let checkpoint: string | undefined;
    let checkpointValid = true;
    for (const topic of stage.inputTopics) {
      const at = partitionKey(topic, partition);
      const entry = offsets.committed.get(at);
      const end = offsets.ends.get(at) ?? 0;
      // An offset past the end belongs to an earlier topic of the same name (deleted and created
      // again): the consumer starts this one from its beginning, and so does the state.
      const recreated = (entry?.offset ?? 0) > end;
      if (recreated) {
        deps.logger.warn({ group: deps.groupId, topic, partition, committed: entry?.offset, end }, 'the committed offset is past the end of the partition (the topic was created again?): its state starts empty');
        checkpointValid = false;
      }
      const position = recreated ? 0 : Math.max(0, entry?.offset ?? 0);
      inputs.push({ topic, partition, position, earliest: offsets.starts.get(at) ?? 0, caughtUp: position >= end, idle: false, lastBatchAt: started });
      if (entry?.metadata && (checkpoint === undefined || newerCheckpoint(entry.metadata, checkpoint))) checkpoint = entry.metadata;
    }
    return { inputs, checkpoint: checkpointValid ? checkpoint : undefined };
  }

  /**
   * Restores each task's newest snapshot, if there is one no newer than its committed positions;
   * returns the input they cover (`topic:partition` → offset; nothing for a task without one).
   */
  private async restoreNewestSnapshots(built: readonly Task[]): Promise<ReadonlyMap<string, number>> {
    const covered = new Map<string, number>();
    if (this.snapshots === undefined) return covered;
    const { deps, stopping } = this.context;
    const { logger, groupId } = deps;
    const { found, recordsRead, bytesRead } = await this.snapshots.load(built.map((t) => t.key), stopping);
    deps.metrics.get('posguard_state_rebuild_records').set({ service: deps.service, group: groupId, source: 'snapshot' }, recordsRead);
    for (const task of built) {
      const snapshot = found.get(task.key);
      if (snapshot === undefined) continue;
      const at = new Map(snapshot.manifest.positions.map((p) => [partitionKey(p.topic, p.partition), p.offset]));
      // A snapshot past the committed positions (taken by an owner whose last commit then failed) is not this state.
      if (task.inputs.some((p) => (at.get(partitionKey(p.topic, p.partition)) ?? 0) > p.position)) {
        logger.warn({ group: groupId, task: task.key, snapshot: snapshot.manifest.id }, 'the newest state snapshot is ahead of the committed offsets; rebuilding from the input instead');
        continue;
      }
      task.processor.restoreSnapshot!(snapshot.state);
      for (const [key, offset] of at) covered.set(key, offset);
      logger.info({ group: groupId, task: task.key, snapshot: snapshot.manifest.id, takenAt: new Date(snapshot.manifest.takenAt).toISOString() }, 'restored task state from its newest snapshot');
    }
    logger.info({ group: groupId, tasks: built.length, restored: built.filter((t) => found.has(t.key)).length, records: recordsRead, bytes: bytesRead }, 'read the state snapshots');
    return covered;
  }

  /**
   * Takes a snapshot of a task whose interval has passed, one write at a time. Called in the
   * stage's turn right after a commit, so the state is the committed one; only the serialisation
   * happens there: compressing and writing go on while the stage consumes.
   */
  snapshotIfDue(task: Task): void {
    const { deps } = this.context;
    if (this.snapshots === undefined || this.writing !== undefined || Date.now() - task.lastSnapshotAt < deps.snapshotIntervalMs!) return;
    task.lastSnapshotAt = Date.now();
    const started = performance.now();
    const state = task.processor.snapshot!();
    const serialisedMs = Math.round(performance.now() - started);
    const positions = task.inputs.map(({ topic, partition, position }) => ({ topic, partition, offset: position }));
    this.writing = this.snapshots.write(state, task.key, positions).then((manifest) => {
      deps.metrics.get('posguard_state_snapshot_bytes').set({ service: deps.service, group: deps.groupId }, manifest.storedBytes);
      deps.logger.info({ group: deps.groupId, task: task.key, bytes: manifest.bytes, stored: manifest.storedBytes, serialisedMs, ms: Math.round(performance.now() - started) }, 'wrote a state snapshot');
    }, (error: unknown) => {
      // A missed snapshot only makes the next rebuild replay more: the stage goes on.
      deps.logger.warn({ group: deps.groupId, task: task.key, error: (error as Error).message }, 'writing a state snapshot failed; the next rebuild will replay more input');
    }).finally(() => { this.writing = undefined; });
  }

  /** Waits for a snapshot being written, and closes the store. */
  async close(): Promise<void> {
    await this.writing;
    await this.snapshots?.close();
  }
}
