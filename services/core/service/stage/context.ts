/** What every part of a running stage shares: its configuration, its logic, its consumer and its stop signal. */
import type { Serdes } from '../../codec/serde.ts';
import type { Logger } from '../../observability/logging.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Consumer, Transport } from '../../transport/port.ts';
import type { StageProcessor } from './processor.ts';

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
  /** See the stage runner's module comment; 2000 when not given. */
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

export interface StageContext {
  readonly deps: StageRunnerDeps;
  readonly stage: StageProcessor;
  readonly consumer: Consumer;
  /** Aborted when the stage stops: a rebuild in progress is abandoned. */
  readonly stopping: AbortSignal;
}

/** Read to the end: past the last record handed over, or past what the fetch held beyond it (transaction markers). */
export const readToEnd = (consumer: Consumer, p: { topic: string; partition: number; position: number }, end: number): boolean =>
  Math.max(p.position, consumer.readThrough(p.topic, p.partition) ?? 0) >= end;
