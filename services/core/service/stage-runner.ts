/**
 * Runs a consume-transform-produce stage over the transport, exactly once between topics, as
 * **tasks**: task p owns partition p of every input topic (the topics are co-partitioned, and the
 * group assigns them so: see Consumer.assignment), holds the state of the keys in it, and has its
 * own transactional producer (`<transactionalId>.task-<p>`). Each consumed batch's outputs, its
 * dead letters and its consumed offsets are committed in one transaction of its task's producer.
 * Whoever takes a task over opens that producer again, which fences the previous owner: a member
 * that lost the task without knowing (a stall past its session timeout) cannot commit for it any
 * more. A record that cannot be decoded or processed goes to the dead-letter topic with the
 * reason; the batch goes on.
 *
 * A stateful task keeps its state in memory, as a projection of its input partitions: whenever
 * this member is given a task (start-up, rebalance, restart after a crash) — or keeps one that
 * another member committed for in the meantime — the task's state is rebuilt up to the group's
 * committed offsets, with outputs discarded (they were committed already), then consumption
 * resumes where the last transaction left off. Tasks this member keeps across a rebalance keep
 * their state. The rebuild starts from the newest snapshot of the task's state, if snapshots are
 * on (state-snapshots.ts), and replays only the input after the snapshot's positions; without one
 * it replays from the earliest offset retention left. Processing is deterministic in event time,
 * so the rebuilt state is the state at that commit. Stopping abandons a rebuild in progress.
 *
 * Event time moves with the data, except on a silent partition: one that has had no record for
 * `partitionIdleMs`, whose upstream stages are caught up with their input, and that this member has
 * read to its end (checked in that order, at that moment) stops holding the watermark back. A
 * timer checks for that, so the last inputs of a stream are released once the stream goes quiet,
 * not only when more data comes.
 */
import type { Serdes } from '../codec/serde.ts';
import { topics } from '../codec/topics.ts';
import { PosguardError } from '../errors.ts';
import type { Logger } from '../observability/logging.ts';
import type { Metrics } from '../observability/metrics.ts';
import { backoffs, mayPassOnRetry, retrying } from '../retry.ts';
import type { ConsumedBatch, ConsumedRecord, Consumer, OutgoingRecord, TopicPartitionOffset, TransactionalProducer, Transport } from '../transport/port.ts';
import { randomUUID } from 'node:crypto';
import { deadLetterOf } from './dead-letter.ts';
import { SnapshotStore } from './state-snapshots.ts';

/** Where a task's output goes: `partition` only when not by the key (a watermark marker goes to each). */
export type Emit = (topic: string, key: string, value: unknown, timestamp: number, partition?: number) => void;

export interface StageProcessor {
  readonly inputTopics: readonly string[];
  readonly stateful: boolean;
  /**
   * The shape of a task's state, written into its snapshots: a snapshot of another shape (taken by
   * an earlier version) is not restored, the task is rebuilt from its input instead. Change it
   * whenever the state's layout changes. Only stages that snapshot need it.
   */
  readonly stateVersion?: string;
  /** Awaited before each batch (the enricher waits there until its profile tables are current). */
  beforeBatch?(): Promise<void>;
  /** A task with empty state: partition `partition` of every input topic. */
  task(partition: number): TaskProcessor;
}

export interface TaskProcessor {
  /** Takes one decoded input record of its partition of `topic`, and its key; may throw for a record it cannot process. */
  accept(topic: string, value: unknown, key: string): void;
  /**
   * Marks the task's partition of `topic` idle (read to its end, upstream caught up, silent for
   * `partitionIdleMs`): it then no longer holds event time back, until it delivers again. Called
   * with `false` for every input after a rebuild, so that one which has not delivered yet holds it
   * back. Only processors that order their inputs by event time have it.
   */
  idle?(topic: string, idle: boolean): void;
  /** Moves whatever became ready into `emit`, as decoded values (the runner encodes them). */
  collect(emit: Emit): void;
  /** A stateful task's checkpoint, committed with its offsets (what it had released). */
  checkpoint?(): string | undefined;
  /** After the replay of a rebuild: reach the state of the checkpoint; outputs are discarded. */
  restore?(checkpoint: string | undefined): void;
  /** How many inputs arrived after the watermark had passed them. */
  lateInputs?(): number;
  /** The whole state, for a snapshot; taken between batches, at committed positions. */
  snapshot?(): Buffer;
  /** Replaces the state by a snapshot's (in place of replaying the input up to its positions). */
  restoreSnapshot?(state: Buffer): void;
}

export interface StageRunnerDeps {
  readonly service: string;
  readonly groupId: string;
  /** Task p's transactional id is `<transactionalId>.task-<p>`, the same on every instance. */
  readonly transactionalId: string;
  readonly transport: Transport;
  readonly serdes: Serdes;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly maxBatchRecords?: number;
  /** See the module comment; 2000 when not given. */
  readonly partitionIdleMs?: number;
  /**
   * Whether the stages that write an input topic (directly or further up) have consumed all of
   * their input. A silent partition of that topic is idle only then: otherwise it may only be
   * waiting for a slower upstream, and releasing past it would make its next records late.
   */
  readonly upstreamCaughtUp?: (topic: string) => Promise<boolean>;
  /**
   * How often a task that can snapshot its state writes one to `<group>.snapshots`
   * (state-snapshots.ts); a rebuild then starts from the newest snapshot and replays only the input
   * after it. Undefined: no snapshots, a rebuild replays the input from its beginning.
   */
  readonly snapshotIntervalMs?: number;
}

export interface RunningStage {
  /** True once the stage has joined its group (holding partitions, or none as a standby) and while it is not rebuilding state. */
  readonly ready: () => boolean;
  /**
   * True when no more output can come without new input: every assigned partition read to its end
   * and (for an event-time processor) idle, so everything the watermark allows has been released.
   */
  readonly settled: () => boolean;
  readonly stop: () => Promise<void>;
}

/** One assigned input partition: the offset to commit, the earliest offset retention left (at the last rebuild), whether read to its end, idle, and since when silent. */
interface InputPartition {
  readonly topic: string;
  readonly partition: number;
  position: number;
  earliest: number;
  caughtUp: boolean;
  idle: boolean;
  lastBatchAt: number;
}

interface Task {
  readonly partition: number;
  readonly key: string;
  processor: TaskProcessor;
  producer: TransactionalProducer;
  readonly inputs: InputPartition[];
  lastSnapshotAt: number;
  lateReported: number;
}

const assignmentKey = (consumer: Consumer) =>
  consumer.assignment().flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}:${p}`)).sort().join(',');

const assignedTasks = (consumer: Consumer) => new Set(consumer.assignment().flatMap(({ partitions }) => partitions));

const taskKey = (partition: number) => `task-${partition}`;

/** Checkpoints only grow: the newest of two is the larger (time, id). */
const newerCheckpoint = (a: string, b: string) => {
  const [x, y] = [JSON.parse(a) as { time: number; id: string }, JSON.parse(b) as { time: number; id: string }];
  return x.time > y.time || (x.time === y.time && x.id > y.id);
};

export async function runStage(deps: StageRunnerDeps, stage: StageProcessor): Promise<RunningStage> {
  const { transport, serdes, logger, metrics, service } = deps;
  const consumed = metrics.get('posguard_records_consumed_total');
  const produced = metrics.get('posguard_records_produced_total');
  const deadLettered = metrics.get('posguard_dead_letters_total');
  const batchSeconds = metrics.get('posguard_batch_duration_seconds');
  const lag = metrics.get('posguard_consumer_lag_records');
  const lateInputs = metrics.get('posguard_late_inputs_total');
  const rebuildRecords = metrics.get('posguard_state_rebuild_records');
  const snapshotBytes = metrics.get('posguard_state_snapshot_bytes');

  const idleMs = deps.partitionIdleMs ?? 2000;
  const probe = stage.task(0);
  const snapshots = deps.snapshotIntervalMs !== undefined && probe.snapshot !== undefined && probe.restoreSnapshot !== undefined
    ? new SnapshotStore(transport, deps.groupId, stage.stateVersion ?? 'unversioned', logger) : undefined;
  // Only a processor that orders its inputs by event time has partitions to mark idle.
  const ordersByEventTime = probe.idle !== undefined;
  await snapshots?.ensureTopic();
  const consumer = await transport.consumer({ groupId: deps.groupId, topics: stage.inputTopics, maxBatchRecords: deps.maxBatchRecords });
  const tasks = new Map<number, Task>();
  /** Tasks whose state must be rebuilt before their next batch (a batch or a commit failed). */
  const stale = new Set<number>();
  /** The assignment the tasks were last brought in line with. */
  let syncedFor: string | undefined;
  let rebuilding = false;
  // Stopping abandons a rebuild in progress: its state would be thrown away anyway.
  const stopping = new AbortController();
  // Batches and idle checks take turns: both feed tasks and commit transactions.
  let turn: Promise<unknown> = Promise.resolve();
  let turnsPending = 0;
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    turnsPending++;
    const result = turn.then(work).finally(() => turnsPending--);
    turn = result.catch(() => undefined);
    return result;
  };
  /** Read to the end: past the last record handed over, or past what the fetch held beyond it (transaction markers). */
  const readToEnd = (p: InputPartition, end: number) => Math.max(p.position, consumer.readThrough(p.topic, p.partition) ?? 0) >= end;

  /** Decodes and feeds a batch to its task; returns the dead letters for the records that failed. */
  async function feed(task: Task, batch: ConsumedBatch, keep: (record: ConsumedRecord) => boolean): Promise<OutgoingRecord[]> {
    const serde = serdes.forTopic(batch.topic);
    await serde.prepare(batch.records.map((r) => r.value));
    const dead: OutgoingRecord[] = [];
    for (const record of batch.records) {
      if (!keep(record)) continue;
      try {
        if (record.value === null) throw new PosguardError('POSGUARD_ERR_CODEC_NOT_AVRO_FRAMED', `${batch.topic}: record has no value`, { topic: batch.topic });
        task.processor.accept(batch.topic, serde.decode(record.value), record.key === null ? '' : record.key.toString());
      } catch (error) {
        const letter = deadLetterOf(service, record, error);
        deadLettered.inc({ service, topic: batch.topic, code: letter.errorCode });
        logger.warn({ topic: batch.topic, partition: record.partition, offset: record.offset, code: letter.errorCode }, letter.errorMessage);
        // The letter's key: the original, masked and bounded.
        dead.push({ key: record.key === null ? null : letter.originalKey, value: serdes.forTopic(topics.deadLetters).encode(letter), timestamp: record.timestamp });
      }
    }
    return dead;
  }

  /**
   * One transaction that writes nothing but the task's current offsets, before any real batch.
   * Seen on a freshly started cluster: the first transactions of a new transactional id race the
   * coordinator's start-up (CONCURRENT_TRANSACTIONS), and kafkajs committed the first batch's
   * offsets without its records (kafkajs issue #1315 shows the same errors). A throw-away first
   * transaction takes that hit instead of data.
   */
  async function warmUp(producer: TransactionalProducer, partition: number): Promise<void> {
    await retrying(backoffs.warmUpTransaction, async () => {
      const transaction = await producer.transaction();
      try {
        const offsets: TopicPartitionOffset[] = [];
        for (const topic of stage.inputTopics) {
          const c = (await transport.admin.committedOffsets(deps.groupId, topic)).find((o) => o.partition === partition);
          if (c !== undefined && c.offset >= 0) offsets.push({ topic, partition, offset: c.offset, ...(c.metadata ? { metadata: c.metadata } : {}) });
        }
        // Nothing committed yet: offset 0 is where the task starts anyway.
        if (offsets.length === 0) offsets.push({ topic: stage.inputTopics[0]!, partition, offset: 0 });
        await transaction.sendOffsets(deps.groupId, offsets);
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    }, { retriable: () => true });
  }

  /**
   * Brings the tasks in line with the assignment: drops the tasks given away, and builds those
   * given to this member, those marked stale and those another member committed for meanwhile.
   */
  async function sync(heartbeat: () => Promise<void>): Promise<void> {
    const key = assignmentKey(consumer);
    const assigned = assignedTasks(consumer);
    for (const [partition, task] of tasks) {
      if (assigned.has(partition)) continue;
      tasks.delete(partition);
      stale.delete(partition);
      await task.producer.disconnect().catch(() => undefined);
    }
    const committed = new Map<string, number>();
    for (const topic of stage.inputTopics) {
      for (const c of await transport.admin.committedOffsets(deps.groupId, topic)) committed.set(`${topic}:${c.partition}`, Math.max(0, c.offset));
    }
    const toBuild = [...assigned].filter((partition) => {
      const task = tasks.get(partition);
      return task === undefined || stale.has(partition)
        || task.inputs.some((p) => (committed.get(`${p.topic}:${p.partition}`) ?? 0) !== p.position);
    }).sort((a, b) => a - b);
    if (toBuild.length > 0) {
      rebuilding = true;
      try {
        await build(toBuild, heartbeat);
      } finally {
        rebuilding = false;
      }
    }
    syncedFor = key;
  }

  /** (Re)builds tasks: their producers first (fencing whoever wrote for them before), then their state. */
  async function build(partitions: readonly number[], heartbeat: () => Promise<void>): Promise<void> {
    const started = Date.now();
    for (const partition of partitions) {
      await tasks.get(partition)?.producer.disconnect().catch(() => undefined);
      tasks.delete(partition);
      stale.delete(partition);
    }
    const producers = await Promise.all(partitions.map(async (partition) => {
      const producer = await transport.transactionalProducer(`${deps.transactionalId}.task-${partition}`);
      await warmUp(producer, partition);
      return producer;
    }));
    // Read after the producers fenced any previous owner: nothing can be committed behind our back now.
    const ends = new Map<string, number>();
    const starts = new Map<string, number>();
    const committed = new Map<string, { offset: number; metadata?: string | null }>();
    for (const topic of stage.inputTopics) {
      const [c, s, e] = await Promise.all([transport.admin.committedOffsets(deps.groupId, topic), transport.admin.startOffsets(topic), transport.admin.endOffsets(topic)]);
      for (const o of c) committed.set(`${topic}:${o.partition}`, o);
      for (const o of s) starts.set(`${topic}:${o.partition}`, o.offset);
      for (const o of e) ends.set(`${topic}:${o.partition}`, o.offset);
    }
    const built: Task[] = [];
    const checkpoints = new Map<number, string | undefined>();
    for (const [i, partition] of partitions.entries()) {
      const inputs: InputPartition[] = [];
      let checkpoint: string | undefined;
      let checkpointValid = true;
      for (const topic of stage.inputTopics) {
        const at = `${topic}:${partition}`;
        const entry = committed.get(at);
        const end = ends.get(at) ?? 0;
        // An offset past the end belongs to an earlier topic of the same name (deleted and created
        // again): the consumer starts this one from its beginning, and so does the state.
        const recreated = (entry?.offset ?? 0) > end;
        if (recreated) {
          logger.warn({ group: deps.groupId, topic, partition, committed: entry?.offset, end }, 'the committed offset is past the end of the partition (the topic was created again?): its state starts empty');
          checkpointValid = false;
        }
        const position = recreated ? 0 : Math.max(0, entry?.offset ?? 0);
        inputs.push({ topic, partition, position, earliest: starts.get(at) ?? 0, caughtUp: position >= end, idle: false, lastBatchAt: started });
        if (entry?.metadata && (checkpoint === undefined || newerCheckpoint(entry.metadata, checkpoint))) checkpoint = entry.metadata;
      }
      checkpoints.set(partition, checkpointValid ? checkpoint : undefined);
      built.push({ partition, key: taskKey(partition), processor: stage.task(partition), producer: producers[i]!, inputs, lastSnapshotAt: Date.now(), lateReported: 0 });
    }
    try {
      if (stage.stateful) await replay(built, heartbeat, started, checkpoints, await restoreNewestSnapshots(built));
    } catch (error) {
      await Promise.all(built.map((t) => t.producer.disconnect().catch(() => undefined)));
      throw error;
    }
    for (const task of built) {
      for (const p of task.inputs) task.processor.idle?.(p.topic, false);
      task.lastSnapshotAt = Date.now();
      task.lateReported = task.processor.lateInputs?.() ?? 0;
      tasks.set(task.partition, task);
    }
  }

  /**
   * Restores each task's newest snapshot, if there is one no newer than its committed positions;
   * returns the input they cover (`topic:partition` → offset; nothing for a task without one).
   */
  async function restoreNewestSnapshots(built: readonly Task[]): Promise<ReadonlyMap<string, number>> {
    const covered = new Map<string, number>();
    if (snapshots === undefined) return covered;
    const { found, recordsRead, bytesRead } = await snapshots.load(built.map((t) => t.key), stopping.signal);
    rebuildRecords.set({ service, group: deps.groupId, source: 'snapshot' }, recordsRead);
    for (const task of built) {
      const snapshot = found.get(task.key);
      if (snapshot === undefined) continue;
      const at = new Map(snapshot.manifest.positions.map((p) => [`${p.topic}:${p.partition}`, p.offset]));
      // A snapshot past the committed positions (taken by an owner whose last commit then failed) is not this state.
      if (task.inputs.some((p) => (at.get(`${p.topic}:${p.partition}`) ?? 0) > p.position)) {
        logger.warn({ group: deps.groupId, task: task.key, snapshot: snapshot.manifest.id }, 'the newest state snapshot is ahead of the committed offsets; rebuilding from the input instead');
        continue;
      }
      task.processor.restoreSnapshot!(snapshot.state);
      for (const [key, offset] of at) covered.set(key, offset);
      logger.info({ group: deps.groupId, task: task.key, snapshot: snapshot.manifest.id, takenAt: new Date(snapshot.manifest.takenAt).toISOString() }, 'restored task state from its newest snapshot');
    }
    logger.info({ group: deps.groupId, tasks: built.length, restored: built.filter((t) => found.has(t.key)).length, records: recordsRead, bytes: bytesRead }, 'read the state snapshots');
    return covered;
  }

  /**
   * Takes a snapshot of each task whose interval has passed, one write at a time. Called in the
   * stage's turn right after a commit, so the state is the committed one; only the serialisation
   * happens there: compressing and writing go on while the stage consumes.
   */
  let writing: Promise<void> | undefined;
  function snapshotIfDue(task: Task): void {
    if (snapshots === undefined || writing !== undefined || Date.now() - task.lastSnapshotAt < deps.snapshotIntervalMs!) return;
    task.lastSnapshotAt = Date.now();
    const started = performance.now();
    const state = task.processor.snapshot!();
    const serialisedMs = Math.round(performance.now() - started);
    const positions = task.inputs.map(({ topic, partition, position }) => ({ topic, partition, offset: position }));
    writing = snapshots.write(state, task.key, positions).then((manifest) => {
      snapshotBytes.set({ service, group: deps.groupId }, manifest.storedBytes);
      logger.info({ group: deps.groupId, task: task.key, bytes: manifest.bytes, stored: manifest.storedBytes, serialisedMs, ms: Math.round(performance.now() - started) }, 'wrote a state snapshot');
    }, (error: unknown) => {
      // A missed snapshot only makes the next rebuild replay more: the stage goes on.
      logger.warn({ group: deps.groupId, task: task.key, error: (error as Error).message }, 'writing a state snapshot failed; the next rebuild will replay more input');
    }).finally(() => { writing = undefined; });
  }

  /**
   * Replays the tasks' partitions from what `covered` (their snapshots' positions) leaves, or from
   * the earliest offsets retention left, up to their committed offsets, then restores each task's
   * checkpoint.
   */
  async function replay(built: readonly Task[], heartbeat: () => Promise<void>, started: number,
    checkpoints: ReadonlyMap<number, string | undefined>, covered: ReadonlyMap<string, number>): Promise<void> {
    const targets = new Map<string, number>();
    const startAt = new Map<string, number>();
    let deleted = 0;
    for (const p of built.flatMap((t) => t.inputs)) {
      const key = `${p.topic}:${p.partition}`;
      const from = Math.max(p.earliest, covered.get(key) ?? 0);
      startAt.set(key, from);
      // Input retention deleted below what the state starts from (its snapshot's position, or 0) is missing from it.
      deleted += Math.max(0, Math.min(p.earliest, p.position) - (covered.get(key) ?? 0));
      // A partition with nothing left to replay (a snapshot at its position, or retention emptied
      // it up to there) must not be waited for: no batch would ever come.
      if (p.position > from) targets.set(key, p.position);
    }
    if (deleted > 0) {
      logger.warn({ group: deps.groupId, deleted }, 'input records below the committed offsets were deleted by retention and no snapshot covers them: the rebuilt state lacks them');
    }
    const total = [...targets].reduce((n, [key, offset]) => n + offset - (startAt.get(key) ?? 0), 0);
    rebuildRecords.set({ service, group: deps.groupId, source: 'input' }, total);
    if (targets.size > 0) {
      const byPartition = new Map(built.map((t) => [t.partition, t]));
      const remaining = new Set(targets.keys());
      logger.info({ group: deps.groupId, tasks: built.map((t) => t.key), partitions: targets.size, records: total }, 'replaying the input since the state it starts from');
      const readerGroup = `${deps.groupId}.rebuild.${randomUUID()}`;
      // The reader starts where the replay starts, and past the end of partitions it has nothing to replay from.
      const readerStarts: TopicPartitionOffset[] = [];
      for (const topic of stage.inputTopics) {
        for (const end of await transport.admin.endOffsets(topic)) {
          const key = `${topic}:${end.partition}`;
          readerStarts.push({ topic, partition: end.partition, offset: targets.has(key) ? startAt.get(key) ?? 0 : end.offset });
        }
      }
      const reader = await transport.consumer({ groupId: readerGroup, topics: stage.inputTopics, maxBatchRecords: deps.maxBatchRecords, startAt: readerStarts });
      let replayed = 0;
      let reportedAt = Date.now();
      let abandon = () => {};
      try {
        await new Promise<void>((resolve, reject) => {
          abandon = () => reject(new PosguardError('POSGUARD_ERR_STAGE_STOPPING', `${deps.groupId}: stopped during the rebuild of its state`, { group: deps.groupId }));
          if (stopping.signal.aborted) {
            abandon();
            return;
          }
          stopping.signal.addEventListener('abort', abandon, { once: true });
          reader.run(async (batch) => {
            if (stopping.signal.aborted) return;
            const key = `${batch.topic}:${batch.partition}`;
            const target = targets.get(key);
            if (target === undefined || !remaining.has(key)) return;
            await feed(byPartition.get(batch.partition)!, batch, (r) => r.offset < target);
            replayed += batch.records.length;
            if (Date.now() - reportedAt >= 10_000) {
              reportedAt = Date.now();
              logger.info({ group: deps.groupId, replayed, records: total }, 'still rebuilding stage state');
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
              if (remaining.size === 0) resolve();
            }
          }).catch(reject);
        });
      } finally {
        // The signal lives as long as the stage: each rebuild takes its listener away again.
        stopping.signal.removeEventListener('abort', abandon);
        await reader.disconnect();
      }
      logger.info({ group: deps.groupId, tasks: built.map((t) => t.key), replayed, ms: Date.now() - started }, 'replayed the input; task state rebuilt');
    }
    for (const task of built) task.processor.restore?.(checkpoints.get(task.partition));
  }

  /**
   * Publishes a task's outputs and offsets in one transaction, retrying the whole transaction
   * with jittered backoff while it fails before its commit: the coordinator refuses a new
   * transaction while it still writes the previous one's markers (CONCURRENT_TRANSACTIONS), and
   * the outputs are still in memory. A commit that fails is not retried: its answer may have been
   * lost with the commit done (a broker killed mid-commit), and the same outputs committed again
   * would be duplicates. The caller marks the task stale instead; its rebuild opens the producer
   * again, which settles that transaction either way, and resumes from the offsets the group has.
   */
  async function publish(task: Task, outputs: Map<string, OutgoingRecord[]>, committing: readonly TopicPartitionOffset[]): Promise<void> {
    const checkpoint = task.processor.checkpoint?.();
    const offsets = committing.map((o) => ({ ...o, ...(checkpoint === undefined ? {} : { metadata: checkpoint }) }));
    let commitSent = false;
    await retrying(backoffs.transaction, async () => {
      const transaction = await task.producer.transaction();
      try {
        await transaction.send([...outputs].map(([topic, records]) => ({ topic, records })));
        await transaction.sendOffsets(deps.groupId, offsets);
        commitSent = true;
        await transaction.commit();
      } catch (error) {
        if (commitSent) {
          logger.warn({ group: deps.groupId, task: task.key, error: (error as Error).message },
            'the commit of a transaction failed, and may have happened: the task resumes from the offsets its group has');
        } else {
          await transaction.abort().catch(() => undefined);
        }
        throw error;
      }
    }, {
      // A fenced producer says no retry can pass; a commit that may have happened must not be sent again.
      retriable: (error) => !commitSent && mayPassOnRetry(error),
      onRetry: (attempt, _delayMs, error) => logger.warn({ group: deps.groupId, task: task.key, attempt, error: (error as Error).message }, 'transaction failed; retrying'),
    });
  }

  await consumer.run(async (batch, context) => {
    try {
      await inTurn(() => handle(batch, context.heartbeat));
    } catch (error) {
      // Stopping: nothing of this batch was committed, and it will be read again by whoever comes
      // next. Throwing would send kafkajs into its crash-and-restart path, which the stop then waits out.
      if (stopping.signal.aborted) return;
      // The task took some of this batch before the failure; the batch will be delivered again,
      // so its state must be rebuilt first or those records would count twice.
      stale.add(batch.partition);
      throw error;
    }
  });

  async function handle(batch: ConsumedBatch, heartbeat: () => Promise<void>): Promise<void> {
    if (assignmentKey(consumer) !== syncedFor || stale.size > 0) await sync(heartbeat);
    const task = tasks.get(batch.partition);
    // A batch fetched before a rebalance took its partition away.
    if (task === undefined) return;
    await stage.beforeBatch?.();
    const started = performance.now();
    const input = task.inputs.find((p) => p.topic === batch.topic)!;
    // Records arrive: every idle input of the task (every writer of each) holds event time back
    // again until checked anew. One writer's new records may be followed by another's older ones,
    // and a record on one topic (an outcome, straight from the acquirer) may run ahead of records
    // of the same moment still on their way through an upstream stage (authorisations, through
    // the enricher) to another.
    for (const p of task.inputs) {
      if (!p.idle) continue;
      p.idle = false;
      task.processor.idle?.(p.topic, false);
    }
    // Below the task's position: what its last transaction committed although its commit failed
    // (see publish); the member's consumer delivers the batch again from where it stood.
    if (batch.nextOffset <= input.position) return;
    const dead = await feed(task, batch, (r) => r.offset >= input.position);
    input.position = batch.nextOffset;
    input.lastBatchAt = Date.now();
    input.caughtUp = readToEnd(input, batch.highWatermark);
    // Every input's offset goes with the task's checkpoint, not only this batch's: a checkpoint an
    // input's last commit called pending would otherwise stay on it after the task released it, and
    // the stages downstream would wait for that input forever.
    await publish(task, collect(task, dead), inputPositions(task));
    snapshotIfDue(task);
    consumed.inc({ service, topic: batch.topic }, batch.records.length);
    lag.set({ service, topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - batch.nextOffset));
    batchSeconds.observe({ service }, (performance.now() - started) / 1000);
  }

  /** The offsets a task stands at in each of its inputs that it has read from. */
  function inputPositions(task: Task): TopicPartitionOffset[] {
    return task.inputs.filter((p) => p.position > 0).map(({ topic, partition, position }) => ({ topic, partition, offset: position }));
  }

  /** Takes what a task made ready, encoded per topic, with the dead letters; counts it as produced. */
  function collect(task: Task, dead: readonly OutgoingRecord[]): Map<string, OutgoingRecord[]> {
    const outputs = new Map<string, OutgoingRecord[]>();
    task.processor.collect((topic, outputKey, value, timestamp, partition) => {
      let list = outputs.get(topic);
      if (list === undefined) {
        list = [];
        outputs.set(topic, list);
      }
      list.push({ key: Buffer.from(outputKey), value: serdes.forTopic(topic).encode(value), timestamp, ...(partition === undefined ? {} : { partition }) });
    });
    const late = task.processor.lateInputs?.() ?? 0;
    if (late > task.lateReported) {
      lateInputs.inc({ service, group: deps.groupId }, late - task.lateReported);
      logger.warn({ group: deps.groupId, task: task.key, late: late - task.lateReported },
        'inputs arrived after the event-time watermark had passed them: processed out of order, so alerts may differ from a replay');
      task.lateReported = late;
    }
    if (dead.length > 0) outputs.set(topics.deadLetters, [...(outputs.get(topics.deadLetters) ?? []), ...dead]);
    for (const [topic, records] of outputs) produced.inc({ service, topic }, records.length);
    return outputs;
  }

  /**
   * Marks the silent partitions idle and commits what that releases, per task, with the offsets
   * the task already stands at and its new checkpoint. Runs between batches, on a timer.
   */
  const nextCheckAt = new Map<string, number>();
  async function releaseSilentPartitions(): Promise<void> {
    if (rebuilding || syncedFor === undefined || syncedFor !== assignmentKey(consumer) || stale.size > 0) return;
    const now = Date.now();
    const silent = [...tasks.values()].flatMap((t) => t.inputs).filter((p) => !p.idle && now - p.lastBatchAt >= idleMs);
    if (silent.length === 0) return;
    const nowIdle = new Set<InputPartition>();
    for (const topic of new Set(silent.map((p) => p.topic))) {
      // The checks cost admin requests: a topic that just failed them waits a little.
      if (now < (nextCheckAt.get(topic) ?? 0)) continue;
      nextCheckAt.set(topic, now + idleMs / 2);
      let ends: Awaited<ReturnType<Transport['admin']['endOffsets']>>;
      try {
        // Upstream first: once it has consumed everything, all it wrote is already in this topic's log.
        if (deps.upstreamCaughtUp !== undefined && !(await deps.upstreamCaughtUp(topic))) continue;
        ends = await transport.admin.endOffsets(topic);
      } catch (error) {
        logger.debug({ group: deps.groupId, topic, error: (error as Error).message }, 'could not check for idle partitions; trying again later');
        continue;
      }
      for (const p of silent) {
        if (p.topic !== topic) continue;
        p.caughtUp = readToEnd(p, ends.find((e) => e.partition === p.partition)?.offset ?? 0);
        if (p.caughtUp) nowIdle.add(p);
      }
    }
    for (const task of tasks.values()) {
      const idleNow = task.inputs.filter((p) => nowIdle.has(p));
      if (idleNow.length === 0) continue;
      const before = task.processor.checkpoint?.();
      for (const p of idleNow) {
        task.processor.idle?.(p.topic, true);
        p.idle = true;
      }
      const outputs = collect(task, []);
      if (outputs.size === 0 && task.processor.checkpoint?.() === before) continue;
      try {
        await publish(task, outputs, inputPositions(task));
      } catch (error) {
        // What was released is not committed: rebuild the task before its next batch.
        stale.add(task.partition);
        throw error;
      }
      snapshotIfDue(task);
    }
  }

  const idleTimer = ordersByEventTime ? setInterval(() => {
    if (turnsPending > 0) return;
    inTurn(releaseSilentPartitions).catch((error: unknown) => {
      logger.warn({ group: deps.groupId, error: (error as Error).message }, 'committing released inputs failed; the task will be rebuilt');
    });
  }, Math.max(25, idleMs / 4)) : undefined;
  idleTimer?.unref();

  return {
    ready: () => consumer.joined() && !rebuilding,
    settled: () => turnsPending === 0 && syncedFor !== undefined && syncedFor === assignmentKey(consumer) && stale.size === 0
      && [...tasks.values()].every((t) => t.inputs.every((p) => p.caughtUp && (p.idle || !ordersByEventTime))),
    async stop() {
      clearInterval(idleTimer);
      stopping.abort();
      await turn;
      await consumer.disconnect();
      await Promise.all([...tasks.values()].map((t) => t.producer.disconnect().catch(() => undefined)));
      await writing;
      await snapshots?.close();
    },
  };
}
