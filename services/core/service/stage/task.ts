/** A task as the runner holds it: its processor, its producer, and where it stands in each input partition. */
import type { TopicPartitionOffset, TransactionalProducer } from '../../transport/port.ts';
import type { TaskProcessor } from './processor.ts';

/** One assigned input partition: the offset to commit, the earliest offset retention left (at the last rebuild), whether read to its end, idle, and since when silent. */
export interface InputPartition {
  readonly topic: string;
  readonly partition: number;
  position: number;
  earliest: number;
  caughtUp: boolean;
  idle: boolean;
  lastBatchAt: number;
}

export interface Task {
  readonly partition: number;
  /** `task-<p>`: the task's name in logs and snapshots. */
  readonly key: string;
  processor: TaskProcessor;
  producer: TransactionalProducer;
  readonly inputs: InputPartition[];
  lastSnapshotAt: number;
  lateReported: number;
}

export const taskKey = (partition: number) => `task-${partition}`;

export const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;

/** The offsets a task stands at in each of its inputs that it has read from. */
export function inputPositions(task: Task): TopicPartitionOffset[] {
  return task.inputs.filter((p) => p.position > 0).map(({ topic, partition, position }) => ({ topic, partition, offset: position }));
}

/** Checkpoints only grow: the newest of two is the larger (time, id). */
export function newerCheckpoint(a: string, b: string): boolean {
  const [x, y] = [JSON.parse(a) as { time: number; id: string }, JSON.parse(b) as { time: number; id: string }];
  return x.time > y.time || (x.time === y.time && x.id > y.id);
}
