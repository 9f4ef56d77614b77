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
import type { ConsumedBatch } from '../transport/port.ts';
import { readToEnd, type StageContext, type StageRunnerDeps } from './stage/context.ts';
import { decodeBatch } from './stage/decode-batch.ts';
import type { StageProcessor } from './stage/processor.ts';
import { RecordCollector } from './stage/record-collector.ts';
import { SilentPartitions } from './stage/silent-partitions.ts';
import { StateManager } from './stage/state-manager.ts';
import { inputPositions } from './stage/task.ts';
import { TaskManager } from './stage/task-manager.ts';

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

/** Runs one piece of work at a time, in order: batches and idle checks both feed tasks and commit transactions. */
class Turns {
  private last: Promise<unknown> = Promise.resolve();
  pending = 0;

  take<T>(work: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.last.then(work).finally(() => this.pending--);
    this.last = result.catch(() => undefined);
    return result;
  }

  /** Resolves once the work queued so far is done. */
  async done(): Promise<void> {
    await this.last;
  }
}

export async function runStage(deps: StageRunnerDeps, stage: StageProcessor): Promise<RunningStage> {
  const stopping = new AbortController();
  const consumer = await deps.transport.consumer({ groupId: deps.groupId, topics: stage.inputTopics, maxBatchRecords: deps.maxBatchRecords });
  const context: StageContext = { deps, stage, consumer, stopping: stopping.signal };
  const collector = new RecordCollector(context);
  const state = new StateManager(context, collector);
  await state.open();
  const tasks = new TaskManager(context, state);
  const idleMs = deps.partitionIdleMs ?? 2000;
  const silent = new SilentPartitions(context, tasks, collector, state, idleMs);
  // Only a processor that orders its inputs by event time has partitions to mark idle.
  const ordersByEventTime = stage.task(0).idle !== undefined;
  const turns = new Turns();
  const handle = batchHandler(context, tasks, collector, state);

  await consumer.run(async (batch, { heartbeat }) => {
    try {
      await turns.take(() => handle(batch, heartbeat));
    } catch (error) {
      // Stopping: nothing of this batch was committed, and it will be read again by whoever comes
      // next. Throwing would send kafkajs into its crash-and-restart path, which the stop then waits out.
      if (stopping.signal.aborted) return;
      // The task took some of this batch before the failure; the batch will be delivered again,
      // so its state must be rebuilt first or those records would count twice.
      tasks.markStale(batch.partition);
      throw error;
    }
  });

  const idleTimer = ordersByEventTime ? setInterval(() => {
    if (turns.pending > 0) return;
    turns.take(() => silent.release()).catch((error: unknown) => {
      deps.logger.warn({ group: deps.groupId, error: (error as Error).message }, 'committing released inputs failed; the task will be rebuilt');
    });
  }, Math.max(25, idleMs / 4)) : undefined;
  idleTimer?.unref();

  return {
    ready: () => consumer.joined() && !tasks.rebuilding(),
    settled: () => turns.pending === 0 && tasks.inLine()
      && [...tasks.tasks.values()].every((t) => t.inputs.every((p) => p.caughtUp && (p.idle || !ordersByEventTime))),
    async stop() {
      clearInterval(idleTimer);
      stopping.abort();
      await turns.done();
      await consumer.disconnect();
      await tasks.close();
      await state.close();
    },
  };
}

/** One consumed batch through its task: decoded, fed, and what it releases published with the task's offsets. */
function batchHandler(context: StageContext, tasks: TaskManager, collector: RecordCollector, state: StateManager) {
  const { deps, stage, consumer } = context;
  const { service, metrics } = deps;
  const consumed = metrics.get('posguard_records_consumed_total');
  const lag = metrics.get('posguard_consumer_lag_records');
  const batchSeconds = metrics.get('posguard_batch_duration_seconds');
  return async (batch: ConsumedBatch, heartbeat: () => Promise<void>): Promise<void> => {
    await tasks.sync(heartbeat);
    const task = tasks.tasks.get(batch.partition);
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
    // (see RecordCollector.publish); the member's consumer delivers the batch again from where it stood.
    if (batch.nextOffset <= input.position) return;
    const dead = await decodeBatch(deps, batch, (r) => r.offset >= input.position, (value, key) => task.processor.accept(batch.topic, value, key));
    input.position = batch.nextOffset;
    input.lastBatchAt = Date.now();
    input.caughtUp = readToEnd(consumer, input, batch.highWatermark);
    // Every input's offset goes with the task's checkpoint, not only this batch's: a checkpoint an
    // input's last commit called pending would otherwise stay on it after the task released it, and
    // the stages downstream would wait for that input forever.
    await collector.publish(task, collector.collect(task, dead), inputPositions(task));
    state.snapshotIfDue(task);
    consumed.inc({ service, topic: batch.topic }, batch.records.length);
    lag.set({ service, topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - batch.nextOffset));
    batchSeconds.observe({ service }, (performance.now() - started) / 1000);
  };
}
