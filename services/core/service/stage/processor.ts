/**
 * The port between the stage runtime and a stage's logic: a stage gives the runner a processor per
 * task (partition p of its inputs); the runner feeds it decoded records and publishes what it emits.
 */

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
  /** The event time released up to, for the watermark-delay gauge; only processors that order by event time have it. */
  watermark?(): number;
  /** How many subjects (cards, terminals, …) the task's state holds, for the state-keys gauge; only stateful processors have it. */
  keys?(): number;
  /** How many inputs arrived after the watermark had passed them. */
  lateInputs?(): number;
  /** The whole state, for a snapshot; taken between batches, at committed positions. */
  snapshot?(): Buffer;
  /** Replaces the state by a snapshot's (in place of replaying the input up to its positions). */
  restoreSnapshot?(state: Buffer): void;
}
