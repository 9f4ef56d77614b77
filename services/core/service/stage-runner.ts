/**
 * Runs a consume-transform-produce processor over the transport, exactly once between topics:
 * each consumed batch's outputs, its dead letters and its consumed offsets are committed in one
 * transaction. A record that cannot be decoded or processed goes to the dead-letter topic
 * with the reason; the batch goes on.
 *
 * A stateful processor keeps its state in memory, as a projection of its input topics: whenever
 * this instance's partition assignment changes (start-up, rebalance, restart after a crash) the
 * state is rebuilt up to the group's committed offsets, with outputs discarded (they were
 * committed already), then consumption resumes where the last transaction left off. The rebuild
 * starts from the newest snapshot of the state for this assignment, if snapshots are on
 * (state-snapshots.ts), and replays only the input after the snapshot's positions; without one it
 * replays from the earliest offset retention left. Processing is deterministic in event time, so
 * the rebuilt state is the state at that commit. Stopping abandons a rebuild in progress.
 *
 * Event time moves with the data, except on a silent partition: one that has had no record for
 * `partitionIdleMs`, whose upstream stages are caught up with their input, and that is caught up
 * with its own log (checked in that order, at that moment) stops holding the watermark back. A
 * timer checks for that, so the last inputs of a stream are released once the stream goes quiet,
 * not only when more data comes. When records arrive again on one partition of a topic, its other
 * partitions hold event time back again until checked anew: the same upstream may be about to
 * write older records to them.
 */
import { randomUUID } from 'node:crypto';
import type { Serdes } from '../codec/serde.ts';
import { topics } from '../codec/topics.ts';
import { PosguardError } from '../errors.ts';
import type { Logger } from '../observability/logging.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ConsumedBatch, ConsumedRecord, Consumer, OutgoingRecord, TopicBatch, TopicPartitionOffset, TransactionalProducer, Transport } from '../transport/port.ts';
import { deadLetterOf } from './dead-letter.ts';
import { SnapshotStore } from './state-snapshots.ts';

export interface StageProcessor {
  readonly inputTopics: readonly string[];
  readonly stateful: boolean;
  /** Awaited before each batch (the enricher waits there until its profile tables are current). */
  beforeBatch?(): Promise<void>;
  /** Forgets all state (before a rebuild). */
  reset(): void;
  /** Takes one decoded input record, its key and its partition; may throw for a record it cannot process. */
  accept(topic: string, value: unknown, key: string, partition: number): void;
  /**
   * Marks an input partition idle (caught up, upstream caught up, silent for `partitionIdleMs`): it
   * then no longer holds event time back, until it delivers again. Called with `false` for every
   * assigned partition after a rebuild, so that one which has not delivered yet holds it back. Only
   * processors that order their inputs by event time have it.
   */
  idle?(topic: string, partition: number, idle: boolean): void;
  /** Moves whatever became ready into `emit`, as decoded values (the runner encodes them). */
  collect(emit: (topic: string, key: string, value: unknown, timestamp: number) => void): void;
  /** A stateful processor's checkpoint, committed with the offsets (what it had released). */
  checkpoint?(): string | undefined;
  /** After the replay of a rebuild: reach the state of the checkpoint; outputs are discarded. */
  restore?(checkpoint: string | undefined): void;
  /** How many inputs arrived after the watermark had passed them, since the last reset. */
  lateInputs?(): number;
  /** The whole state, for a snapshot; taken between batches, at committed positions. */
  snapshot?(): Buffer;
  /** Replaces the state by a snapshot's (in place of replaying the input up to its positions). */
  restoreSnapshot?(state: Buffer): void;
}

export interface StageRunnerDeps {
  readonly service: string;
  readonly groupId: string;
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
   * How often a processor that can snapshot its state writes one to `<group>.snapshots`
   * (state-snapshots.ts); a rebuild then starts from the newest snapshot and replays only the input
   * after it. Undefined: no snapshots, a rebuild replays the input from its beginning.
   */
  readonly snapshotIntervalMs?: number;
}

export interface RunningStage {
  /** True while the stage holds partitions and is not rebuilding its state. */
  readonly ready: () => boolean;
  /**
   * True when no more output can come without new input: every assigned partition caught up and
   * (for an event-time processor) idle, so everything the watermark allows has been released.
   */
  readonly settled: () => boolean;
  readonly stop: () => Promise<void>;
}

const assignmentKey = (consumer: Consumer) =>
  consumer.assignment().flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}:${p}`)).sort().join(',');

/**
 * One transaction that writes nothing but the group's current offsets, before any real batch.
 * Seen on a freshly started cluster: the first transactions of a new transactional id race the
 * coordinator's start-up (CONCURRENT_TRANSACTIONS), and kafkajs committed the first batch's offsets
 * without its records (kafkajs issue #1315 shows the same errors). A throw-away first transaction
 * takes that hit instead of data.
 */
async function warmUpTransactions(producer: TransactionalProducer, deps: StageRunnerDeps, inputTopics: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const transaction = await producer.transaction();
    try {
      const offsets = [];
      for (const topic of inputTopics) {
        for (const c of await deps.transport.admin.committedOffsets(deps.groupId, topic)) {
          if (c.offset >= 0) offsets.push({ topic, partition: c.partition, offset: c.offset, ...(c.metadata ? { metadata: c.metadata } : {}) });
        }
      }
      if (offsets.length === 0) {
        const [first] = await deps.transport.admin.endOffsets(inputTopics[0]!);
        // A brand-new group: commit offset 0 of one partition, which is where it starts anyway.
        if (first !== undefined) offsets.push({ topic: inputTopics[0]!, partition: first.partition, offset: 0 });
      }
      await transaction.sendOffsets(deps.groupId, offsets);
      await transaction.commit();
      return;
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      if (attempt >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

export async function runStage(deps: StageRunnerDeps, processor: StageProcessor): Promise<RunningStage> {
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
  const snapshots = deps.snapshotIntervalMs !== undefined && processor.snapshot !== undefined && processor.restoreSnapshot !== undefined
    ? new SnapshotStore(transport, deps.groupId, logger) : undefined;
  await snapshots?.ensureTopic();
  let lastSnapshotAt = Date.now();
  const producer: TransactionalProducer = await transport.transactionalProducer(deps.transactionalId);
  await warmUpTransactions(producer, deps, processor.inputTopics);
  const consumer = await transport.consumer({ groupId: deps.groupId, topics: processor.inputTopics, maxBatchRecords: deps.maxBatchRecords });
  let rebuiltFor: string | undefined;
  let rebuilding = false;
  let lateReported = 0;
  /**
   * Each assigned input partition: the offset to commit for it, the earliest offset retention has
   * left in it (at the last rebuild), whether it is caught up, idle, and since when silent.
   */
  const partitions = new Map<string, { topic: string; partition: number; position: number; earliest: number; caughtUp: boolean; idle: boolean; lastBatchAt: number }>();
  // Stopping abandons a rebuild in progress: its state would be thrown away anyway.
  const stopping = new AbortController();
  // On Kafka a transaction's commit marker takes the last offset: one short of the end is the end.
  const trailingMarkers = transport.kind === 'kafka' ? 1 : 0;
  // Batches and idle checks take turns: both feed the processor and commit transactions.
  let turn: Promise<unknown> = Promise.resolve();
  let turnsPending = 0;
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    turnsPending++;
    const result = turn.then(work).finally(() => turnsPending--);
    turn = result.catch(() => undefined);
    return result;
  };

  /** Decodes and feeds a batch; returns the dead letters for the records that failed. */
  async function feed(batch: ConsumedBatch, keep: (record: ConsumedRecord) => boolean): Promise<TopicBatch['records'][number][]> {
    const serde = serdes.forTopic(batch.topic);
    await serde.prepare(batch.records.map((r) => r.value));
    const dead: OutgoingRecord[] = [];
    for (const record of batch.records) {
      if (!keep(record)) continue;
      try {
        if (record.value === null) throw new PosguardError('POSGUARD_ERR_CODEC_NOT_AVRO_FRAMED', `${batch.topic}: record has no value`, { topic: batch.topic });
        processor.accept(batch.topic, serde.decode(record.value), record.key === null ? '' : record.key.toString(), record.partition);
      } catch (error) {
        const letter = deadLetterOf(service, record, error);
        deadLettered.inc({ service, topic: batch.topic, code: letter.errorCode });
        logger.warn({ topic: batch.topic, partition: record.partition, offset: record.offset, code: letter.errorCode }, letter.errorMessage);
        dead.push({ key: record.key, value: serdes.forTopic(topics.deadLetters).encode(letter), timestamp: record.timestamp });
      }
    }
    return dead;
  }

  /** Rebuilds the processor's state (a stateful one) and learns where each assigned partition stands. */
  async function rebuild(heartbeat: () => Promise<void>): Promise<void> {
    const started = Date.now();
    processor.reset();
    partitions.clear();
    // Each transaction stores the processor's checkpoint with the offsets it commits; the newest
    // is the largest (checkpoints only grow).
    let checkpoint: string | undefined;
    const newer = (a: string, b: string) => {
      const [x, y] = [JSON.parse(a) as { time: number; id: string }, JSON.parse(b) as { time: number; id: string }];
      return x.time > y.time || (x.time === y.time && x.id > y.id);
    };
    let checkpointValid = true;
    for (const { topic, partitions: assigned } of consumer.assignment()) {
      const [committed, starts, ends] = await Promise.all([
        transport.admin.committedOffsets(deps.groupId, topic), transport.admin.startOffsets(topic), transport.admin.endOffsets(topic),
      ]);
      for (const partition of assigned) {
        const entry = committed.find((c) => c.partition === partition);
        const end = ends.find((e) => e.partition === partition)?.offset ?? 0;
        // An offset past the end belongs to an earlier topic of the same name (deleted and created
        // again): the consumer starts this one from its beginning, and so does the state.
        const recreated = (entry?.offset ?? 0) > end;
        if (recreated) {
          logger.warn({ group: deps.groupId, topic, partition, committed: entry?.offset, end }, 'the committed offset is past the end of the partition (the topic was created again?): its state starts empty');
          checkpointValid = false;
        }
        const position = recreated ? 0 : Math.max(0, entry?.offset ?? 0);
        // Every partition holds event time back from the start, until it delivers or goes idle: a
        // partition whose first record comes late must not find its time already released.
        const earliest = starts.find((e) => e.partition === partition)?.offset ?? 0;
        partitions.set(`${topic}:${partition}`, { topic, partition, position, earliest, caughtUp: end - position <= trailingMarkers, idle: false, lastBatchAt: started });
        if (entry?.metadata && (checkpoint === undefined || newer(entry.metadata, checkpoint))) checkpoint = entry.metadata;
      }
    }
    if (!checkpointValid) checkpoint = undefined;
    if (processor.stateful) await replay(heartbeat, started, checkpoint, await restoreNewestSnapshot());
    for (const p of partitions.values()) processor.idle?.(p.topic, p.partition, false);
    lastSnapshotAt = Date.now();
  }

  /**
   * Restores the newest snapshot of this assignment, if there is one no newer than the committed
   * positions; returns the input it covers (`topic:partition` → offset; empty without a snapshot).
   */
  async function restoreNewestSnapshot(): Promise<ReadonlyMap<string, number>> {
    const none = new Map<string, number>();
    if (snapshots === undefined) return none;
    const { snapshot, recordsRead, bytesRead } = await snapshots.load(assignmentKey(consumer), stopping.signal);
    rebuildRecords.set({ service, group: deps.groupId, source: 'snapshot' }, recordsRead);
    if (snapshot === undefined) return none;
    const at = new Map(snapshot.manifest.positions.map((p) => [`${p.topic}:${p.partition}`, p.offset]));
    // A snapshot past the committed positions (taken by an instance whose last commit then failed) is not this state.
    if ([...partitions].some(([key, p]) => (at.get(key) ?? 0) > p.position)) {
      logger.warn({ group: deps.groupId, snapshot: snapshot.manifest.id }, 'the newest state snapshot is ahead of the committed offsets; rebuilding from the input instead');
      return none;
    }
    processor.restoreSnapshot!(snapshot.state);
    logger.info({ group: deps.groupId, snapshot: snapshot.manifest.id, bytes: bytesRead, records: recordsRead, takenAt: new Date(snapshot.manifest.takenAt).toISOString() },
      'restored stage state from its newest snapshot');
    return at;
  }

  /**
   * Takes a snapshot when the interval has passed and none is being written. Called in the stage's
   * turn right after a commit, so the state is the committed one; only the serialisation happens
   * there: compressing and writing go on while the stage consumes.
   */
  let writing: Promise<void> | undefined;
  function snapshotIfDue(): void {
    if (snapshots === undefined || writing !== undefined || Date.now() - lastSnapshotAt < deps.snapshotIntervalMs!) return;
    lastSnapshotAt = Date.now();
    const started = performance.now();
    const state = processor.snapshot!();
    const serialisedMs = Math.round(performance.now() - started);
    const positions = [...partitions.values()].map(({ topic, partition, position }) => ({ topic, partition, offset: position }));
    writing = snapshots.write(state, assignmentKey(consumer), positions).then((manifest) => {
      snapshotBytes.set({ service, group: deps.groupId }, manifest.storedBytes);
      logger.info({ group: deps.groupId, bytes: manifest.bytes, stored: manifest.storedBytes, serialisedMs, ms: Math.round(performance.now() - started) }, 'wrote a state snapshot');
    }, (error: unknown) => {
      // A missed snapshot only makes the next rebuild replay more: the stage goes on.
      logger.warn({ group: deps.groupId, error: (error as Error).message }, 'writing a state snapshot failed; the next rebuild will replay more input');
    }).finally(() => { writing = undefined; });
  }

  /**
   * Replays the assigned partitions from what `covered` (a snapshot's positions) leaves, or from
   * the earliest offsets retention left, up to their committed offsets, then restores the checkpoint.
   */
  async function replay(heartbeat: () => Promise<void>, started: number, checkpoint: string | undefined, covered: ReadonlyMap<string, number>): Promise<void> {
    const targets = new Map<string, number>();
    const startAt = new Map<string, number>();
    let deleted = 0;
    for (const [key, p] of partitions) {
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
      const remaining = new Set(targets.keys());
      logger.info({ group: deps.groupId, partitions: targets.size, records: total }, 'replaying the input since the state it starts from');
      const readerGroup = `${deps.groupId}.rebuild.${randomUUID()}`;
      // The reader starts where the replay starts, and past the end of partitions it has nothing to replay from.
      const starts: TopicPartitionOffset[] = [];
      for (const topic of processor.inputTopics) {
        for (const end of await transport.admin.endOffsets(topic)) {
          const key = `${topic}:${end.partition}`;
          starts.push({ topic, partition: end.partition, offset: targets.has(key) ? startAt.get(key) ?? 0 : end.offset });
        }
      }
      await transport.admin.setGroupOffsets(readerGroup, starts);
      const reader = await transport.consumer({ groupId: readerGroup, topics: processor.inputTopics, maxBatchRecords: deps.maxBatchRecords });
      let replayed = 0;
      let reportedAt = Date.now();
      let abandon = () => {};
      try {
        await new Promise<void>((resolve, reject) => {
          abandon = () => reject(new PosguardError('POSGUARD_ERR_STAGE_STOPPING', `${deps.groupId}: stopped during the rebuild of its state`, { group: deps.groupId }));
          if (stopping.signal.aborted) abandon();
          stopping.signal.addEventListener('abort', abandon, { once: true });
          reader.run(async (batch) => {
            if (stopping.signal.aborted) return;
            const key = `${batch.topic}:${batch.partition}`;
            const target = targets.get(key);
            if (target === undefined || !remaining.has(key)) return;
            await feed(batch, (r) => r.offset < target);
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
      logger.info({ group: deps.groupId, partitions: targets.size, replayed, ms: Date.now() - started }, 'replayed the input; stage state rebuilt');
    }
    processor.restore?.(checkpoint);
  }

  /**
   * Publishes a batch's outputs and offsets in one transaction, retrying the whole transaction
   * with jittered backoff: the coordinator refuses a new transaction while it still writes the
   * previous one's markers (CONCURRENT_TRANSACTIONS), and the outputs are still in memory.
   */
  async function publish(outputs: Map<string, OutgoingRecord[]>, committing: readonly { topic: string; partition: number; offset: number }[]): Promise<void> {
    const checkpoint = processor.checkpoint?.();
    const offsets = committing.map((o) => ({ ...o, ...(checkpoint === undefined ? {} : { metadata: checkpoint }) }));
    for (let attempt = 1; ; attempt++) {
      const transaction = await producer.transaction();
      try {
        await transaction.send([...outputs].map(([topic, records]) => ({ topic, records })));
        await transaction.sendOffsets(deps.groupId, offsets);
        await transaction.commit();
        return;
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        if (attempt >= 6 || /fenced|fencing/i.test((error as Error).message)) throw error;
        logger.warn({ group: deps.groupId, attempt, error: (error as Error).message }, 'transaction failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  await consumer.run(async (batch, context) => {
    try {
      await inTurn(() => handle(batch, context.heartbeat));
    } catch (error) {
      // The processor took some of this batch before the failure; the batch will be delivered
      // again, so its state must be rebuilt first or those records would count twice.
      rebuiltFor = undefined;
      throw error;
    }
  });

  async function handle(batch: ConsumedBatch, heartbeat: () => Promise<void>): Promise<void> {
    const key = assignmentKey(consumer);
    if (key !== rebuiltFor) {
      rebuilding = true;
      try {
        await rebuild(heartbeat);
      } finally {
        rebuilding = false;
      }
      rebuiltFor = key;
      lateReported = 0;
    }
    await processor.beforeBatch?.();
    const started = performance.now();
    const dead = await feed(batch, () => true);
    partitions.set(`${batch.topic}:${batch.partition}`, {
      topic: batch.topic, partition: batch.partition, position: batch.nextOffset, lastBatchAt: Date.now(), idle: false,
      earliest: partitions.get(`${batch.topic}:${batch.partition}`)?.earliest ?? 0, caughtUp: batch.highWatermark - batch.nextOffset <= trailingMarkers,
    });
    for (const p of partitions.values()) {
      if (p.topic !== batch.topic || !p.idle) continue;
      p.idle = false;
      processor.idle?.(p.topic, p.partition, false);
    }
    await publish(collect(dead), [{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
    snapshotIfDue();
    consumed.inc({ service, topic: batch.topic }, batch.records.length);
    lag.set({ service, topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - batch.nextOffset));
    batchSeconds.observe({ service }, (performance.now() - started) / 1000);
  }

  /** Takes what the processor made ready, encoded per topic, with the dead letters; counts it as produced. */
  function collect(dead: readonly OutgoingRecord[]): Map<string, OutgoingRecord[]> {
    const outputs = new Map<string, OutgoingRecord[]>();
    processor.collect((topic, outputKey, value, timestamp) => {
      let list = outputs.get(topic);
      if (list === undefined) {
        list = [];
        outputs.set(topic, list);
      }
      list.push({ key: Buffer.from(outputKey), value: serdes.forTopic(topic).encode(value), timestamp });
    });
    const late = processor.lateInputs?.() ?? 0;
    if (late > lateReported) {
      lateInputs.inc({ service, group: deps.groupId }, late - lateReported);
      logger.warn({ group: deps.groupId, late: late - lateReported },
        'inputs arrived after the event-time watermark had passed them: processed out of order, so alerts may differ from a replay');
      lateReported = late;
    }
    if (dead.length > 0) outputs.set(topics.deadLetters, [...(outputs.get(topics.deadLetters) ?? []), ...dead]);
    for (const [topic, records] of outputs) produced.inc({ service, topic }, records.length);
    return outputs;
  }

  /**
   * Marks the silent partitions idle and commits what that releases, with the offsets the stage
   * already stands at and the new checkpoint. Runs between batches, on a timer.
   */
  const nextCheckAt = new Map<string, number>();
  async function releaseSilentPartitions(): Promise<void> {
    if (rebuilding || rebuiltFor === undefined || rebuiltFor !== assignmentKey(consumer)) return;
    const now = Date.now();
    const silent = [...partitions.values()].filter((p) => !p.idle && now - p.lastBatchAt >= idleMs);
    if (silent.length === 0) return;
    const nowIdle: typeof silent = [];
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
        p.caughtUp = (ends.find((e) => e.partition === p.partition)?.offset ?? 0) - p.position <= trailingMarkers;
        if (p.caughtUp) nowIdle.push(p);
      }
    }
    if (nowIdle.length === 0) return;
    const before = processor.checkpoint?.();
    for (const p of nowIdle) {
      processor.idle?.(p.topic, p.partition, true);
      p.idle = true;
    }
    const outputs = collect([]);
    if (outputs.size === 0 && processor.checkpoint?.() === before) return;
    const committing = [...partitions.values()].filter((p) => p.position > 0).map(({ topic, partition, position }) => ({ topic, partition, offset: position }));
    await publish(outputs, committing);
    snapshotIfDue();
  }

  // Only a processor that orders its inputs by event time has partitions to mark idle.
  const ordersByEventTime = processor.idle !== undefined;
  const idleTimer = ordersByEventTime ? setInterval(() => {
    if (turnsPending > 0) return;
    inTurn(releaseSilentPartitions).catch((error: unknown) => {
      // What was released is not committed: rebuild before the next batch.
      rebuiltFor = undefined;
      logger.warn({ group: deps.groupId, error: (error as Error).message }, 'committing released inputs failed; the state will be rebuilt');
    });
  }, Math.max(25, idleMs / 4)) : undefined;
  idleTimer?.unref();

  return {
    ready: () => consumer.assignment().length > 0 && !rebuilding,
    settled: () => turnsPending === 0 && rebuiltFor !== undefined && rebuiltFor === assignmentKey(consumer)
      && [...partitions.values()].every((p) => p.caughtUp && (p.idle || !ordersByEventTime)),
    async stop() {
      clearInterval(idleTimer);
      stopping.abort();
      await turn;
      await consumer.disconnect();
      await producer.disconnect();
      await writing;
      await snapshots?.close();
    },
  };
}
