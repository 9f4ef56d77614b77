/**
 * The tasks this member runs, kept in line with its assignment: tasks given away are dropped; tasks
 * given to it, marked stale (a batch or a commit failed), or committed for by another member in the
 * meantime are (re)built. Tasks kept across a rebalance keep their state.
 */
import type { Consumer } from '../../transport/port.ts';
import type { StageContext } from './context.ts';
import type { StateManager } from './state-manager.ts';
import { partitionKey, type Task } from './task.ts';

const assignmentKey = (consumer: Consumer) =>
  consumer.assignment().flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}:${p}`)).sort().join(',');

const assignedTasks = (consumer: Consumer) => new Set(consumer.assignment().flatMap(({ partitions }) => partitions));

export class TaskManager {
  readonly tasks = new Map<number, Task>();
  /** Tasks whose state must be rebuilt before their next batch (a batch or a commit failed). */
  private readonly stale = new Set<number>();
  /** The assignment the tasks were last brought in line with. */
  private syncedFor: string | undefined;
  private building = false;

  constructor(private readonly context: StageContext, private readonly state: StateManager) {}

  /** Whether the tasks match the current assignment and none is stale. */
  inLine(): boolean {
    return this.syncedFor !== undefined && this.syncedFor === assignmentKey(this.context.consumer) && this.stale.size === 0;
  }

  rebuilding(): boolean {
    return this.building;
  }

  markStale(partition: number): void {
    this.stale.add(partition);
  }

  /** Brings the tasks in line with the assignment, if they are not. */
  async sync(heartbeat: () => Promise<void>): Promise<void> {
    if (this.inLine()) return;
    const { consumer, deps, stage } = this.context;
    const key = assignmentKey(consumer);
    const assigned = assignedTasks(consumer);
    for (const partition of [...this.tasks.keys()]) {
      if (!assigned.has(partition)) await this.drop(partition);
    }
    const committed = new Map<string, number>();
    for (const topic of stage.inputTopics) {
      for (const c of await deps.transport.admin.committedOffsets(deps.groupId, topic)) committed.set(partitionKey(topic, c.partition), Math.max(0, c.offset));
    }
    const toBuild = [...assigned].filter((partition) => {
      const task = this.tasks.get(partition);
      return task === undefined || this.stale.has(partition)
        || task.inputs.some((p) => (committed.get(partitionKey(p.topic, p.partition)) ?? 0) !== p.position);
    }).sort((a, b) => a - b);
    if (toBuild.length > 0) {
      this.building = true;
      try {
        for (const partition of toBuild) await this.drop(partition);
        for (const task of await this.state.build(toBuild, heartbeat)) this.tasks.set(task.partition, task);
      } finally {
        this.building = false;
      }
    }
    this.syncedFor = key;
  }

  private async drop(partition: number): Promise<void> {
    const task = this.tasks.get(partition);
    this.tasks.delete(partition);
    this.stale.delete(partition);
    await task?.producer.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.producer.disconnect().catch(() => undefined)));
  }
}
