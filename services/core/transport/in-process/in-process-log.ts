/**
 * The embedded mode's log: topics, partitions, consumer groups, committed offsets and transactions
 * in one process, behind the same port as Kafka. Keys go to partitions through kafkajs's own
 * default partitioner (Java-compatible murmur2), so a key lands in the same partition number in
 * both modes.
 *
 * Differences from Kafka, by design: a transaction's records are appended when it commits (so no
 * reader ever sees aborted records, whatever its isolation), and the log keeps every record for the
 * life of the process (no retention).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { PosguardError } from '../../errors.ts';
import type {
  BatchHandler,
  ConsumedBatch,
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  PartitionAssignment,
  OutgoingRecord,
  PartitionOffsets,
  Producer,
  TopicAdmin,
  TopicBatch,
  TopicPartitionOffset,
  TopicSpec,
  Transaction,
  TransactionalProducer,
  Transport,
} from '../port.ts';

const defaultMaxBatchRecords = 1000;
/** The in-process log has no sessions to keep alive. */
const inProcessContext = { heartbeat: async () => {} };
const redeliveryDelayMs = 100;

interface TopicLog {
  readonly name: string;
  readonly compacted: boolean;
  readonly partitions: ConsumedRecord[][];
  /** The shape kafkajs's partitioner reads: one live leader per partition. */
  readonly partitionMetadata: PartitionMetadata[];
  /** Partition by key: keys (cards, terminals, merchants) repeat, murmur2 on Longs is costly. */
  readonly partitionOfKey: Map<string, number>;
  /** Kafka's `max.message.bytes`: a larger record is refused, as the broker refuses it. */
  readonly maxRecordBytes: number;
}

/** Kafka's default `message.max.bytes`. */
const defaultMaxRecordBytes = 1_048_588;

interface Member {
  readonly id: string;
  readonly topics: readonly string[];
  assignment: PartitionAssignment[];
  /** Called when the group's assignment changed, so the member re-reads its positions. */
  onRebalance(): void;
}

interface Group {
  readonly id: string;
  readonly members: Map<string, Member>;
  readonly committed: Map<string, { offset: number; metadata: string | null }>;
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function refuseOversized(topic: TopicLog, record: OutgoingRecord): void {
  const bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  if (bytes > topic.maxRecordBytes) {
    throw new PosguardError('POSGUARD_ERR_TRANSPORT_RECORD_TOO_LARGE', `a ${bytes}-byte record is larger than topic ${topic.name} accepts (${topic.maxRecordBytes} bytes)`, { topic: topic.name, bytes });
  }
}

/** The shared state of one embedded deployment; every in-process transport over it sees the same log. */
export class InProcessLog {
  private readonly topicsByName = new Map<string, TopicLog>();
  private readonly groups = new Map<string, Group>();
  private readonly fencingEpochs = new Map<string, number>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private wakeUps = new Set<() => void>();
  private memberSequence = 0;

  createTopic(spec: TopicSpec): void {
    if (this.topicsByName.has(spec.topic)) return;
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
      throw new RangeError(`topic ${spec.topic}: partitions must be a positive integer, got ${spec.partitions}`);
    }
    this.topicsByName.set(spec.topic, {
      name: spec.topic,
      compacted: spec.compacted ?? false,
      partitions: Array.from({ length: spec.partitions }, () => []),
      partitionMetadata: Array.from({ length: spec.partitions }, (_, partitionId) => ({
        partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0],
      })),
      partitionOfKey: new Map(),
      maxRecordBytes: Number(spec.config?.['max.message.bytes'] ?? defaultMaxRecordBytes),
    });
  }

  deleteTopic(name: string): void {
    this.topicsByName.delete(name);
    for (const group of this.groups.values()) {
      for (const key of [...group.committed.keys()]) if (key.startsWith(`${name}\u0000`)) group.committed.delete(key);
    }
  }

  topicNames(): string[] {
    return [...this.topicsByName.keys()].sort();
  }

  topic(name: string): TopicLog {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) {
      throw new PosguardError('POSGUARD_ERR_TRANSPORT_UNKNOWN_TOPIC', `topic ${name} does not exist`, { topic: name });
    }
    return topic;
  }

  /** Appends all batches at once (callers pass one transaction's worth) and wakes readers. */
  append(batches: readonly TopicBatch[]): void {
    const now = Date.now();
    // Resolve every topic first: a batch naming an unknown topic appends nothing at all.
    const resolved = batches.map((batch) => ({ topic: this.topic(batch.topic), records: batch.records }));
    for (const { topic, records } of resolved) for (const record of records) refuseOversized(topic, record);
    for (const { topic, records } of resolved) {
      for (const record of records) {
        const partition = this.partitionOf(topic, record);
        const log = topic.partitions[partition]!;
        const headers: Record<string, Buffer> = {};
        if (record.headers !== undefined) {
          for (const [name, value] of Object.entries(record.headers)) headers[name] = typeof value === 'string' ? Buffer.from(value) : value;
        }
        log.push({
          topic: topic.name,
          partition,
          offset: log.length,
          key: record.key,
          value: record.value,
          headers,
          timestamp: record.timestamp ?? now,
        });
      }
    }
    this.wakeAll();
  }

  private partitionOf(topic: TopicLog, record: TopicBatch['records'][number]): number {
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= topic.partitions.length) {
        throw new PosguardError('POSGUARD_ERR_TRANSPORT_UNKNOWN_TOPIC', `topic ${topic.name} has no partition ${record.partition}`, { topic: topic.name });
      }
      return record.partition;
    }
    const cacheKey = record.key === null ? undefined : record.key.toString('latin1');
    let partition = cacheKey === undefined ? undefined : topic.partitionOfKey.get(cacheKey);
    if (partition === undefined) {
      partition = this.partitioner({ topic: topic.name, partitionMetadata: topic.partitionMetadata, message: { key: record.key, value: record.value } });
      // Keyless records round-robin: never cached. The cache is bounded by forgetting it wholesale.
      if (cacheKey !== undefined) {
        if (topic.partitionOfKey.size >= 500_000) topic.partitionOfKey.clear();
        topic.partitionOfKey.set(cacheKey, partition);
      }
    }
    return partition;
  }

  group(id: string): Group {
    let group = this.groups.get(id);
    if (group === undefined) {
      group = { id, members: new Map(), committed: new Map() };
      this.groups.set(id, group);
    }
    return group;
  }

  commit(groupId: string, offsets: readonly TopicPartitionOffset[]): void {
    const group = this.group(groupId);
    for (const o of offsets) group.committed.set(partitionKey(o.topic, o.partition), { offset: o.offset, metadata: o.metadata ?? null });
  }

  committed(groupId: string, topic: string, partition: number): number | undefined {
    return this.groups.get(groupId)?.committed.get(partitionKey(topic, partition))?.offset;
  }

  committedMetadata(groupId: string, topic: string, partition: number): string | null {
    return this.groups.get(groupId)?.committed.get(partitionKey(topic, partition))?.metadata ?? null;
  }

  join(groupId: string, topics: readonly string[], onRebalance: () => void): Member {
    for (const topic of topics) this.topic(topic);
    const member: Member = { id: `${groupId}-member-${++this.memberSequence}`, topics, assignment: [], onRebalance };
    const group = this.group(groupId);
    group.members.set(member.id, member);
    this.rebalance(group);
    return member;
  }

  leave(groupId: string, member: Member): void {
    const group = this.group(groupId);
    if (group.members.delete(member.id)) this.rebalance(group);
  }

  /** Spreads each topic's partitions over the members subscribed to it, in member order. */
  private rebalance(group: Group): void {
    const members = [...group.members.values()];
    for (const member of members) member.assignment = [];
    const topicNames = new Set(members.flatMap((m) => m.topics));
    for (const name of topicNames) {
      const topic = this.topicsByName.get(name);
      if (topic === undefined) continue;
      const subscribers = members.filter((m) => m.topics.includes(name));
      const owned = new Map<Member, number[]>();
      for (let p = 0; p < topic.partitions.length; p++) {
        const owner = subscribers[p % subscribers.length]!;
        owned.set(owner, [...(owned.get(owner) ?? []), p]);
      }
      for (const [member, partitions] of owned) member.assignment.push({ topic: name, partitions });
    }
    for (const member of members) member.onRebalance();
    this.wakeAll();
  }

  /** Bumps the producer epoch of a transactional id; older producers with that id are fenced. */
  registerTransactionalProducer(transactionalId: string): number {
    const epoch = (this.fencingEpochs.get(transactionalId) ?? 0) + 1;
    this.fencingEpochs.set(transactionalId, epoch);
    return epoch;
  }

  isFenced(transactionalId: string, epoch: number): boolean {
    return this.fencingEpochs.get(transactionalId) !== epoch;
  }

  /** Resolves at the next append, rebalance or `wakeAll`. */
  nextChange(): Promise<void> {
    return new Promise((resolve) => this.wakeUps.add(resolve));
  }

  wakeAll(): void {
    const wakeUps = this.wakeUps;
    this.wakeUps = new Set();
    for (const wake of wakeUps) wake();
  }
}

class InProcessConsumer implements Consumer {
  private member: Member | undefined;
  private readonly positions = new Map<string, number>();
  /** Where to start (options.startAt), until the first assignment. */
  private readonly startAt = new Map<string, number>();
  /** The offset after the last batch handed over, per partition (readThrough). */
  private readonly read = new Map<string, number>();
  private running = false;
  private loop: Promise<void> | undefined;
  private nextPartitionIndex = 0;

  constructor(
    private readonly log: InProcessLog,
    private readonly options: ConsumerOptions,
    private readonly onDisconnect: (consumer: InProcessConsumer) => void,
  ) {
    for (const o of options.startAt ?? []) this.startAt.set(partitionKey(o.topic, o.partition), o.offset);
  }

  join(): void {
    this.member = this.log.join(this.options.groupId, this.options.topics, () => this.resetPositions());
    // The join's own rebalance ran before `member` was set: read the positions now.
    this.resetPositions();
  }

  async run(handler: BatchHandler): Promise<void> {
    if (this.member === undefined) throw new PosguardError('POSGUARD_ERR_TRANSPORT_CLOSED', 'consumer is disconnected');
    if (this.running) throw new Error('consumer is already running');
    this.running = true;
    this.loop = this.deliver(handler);
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.log.commit(this.options.groupId, offsets);
  }

  assignment(): readonly PartitionAssignment[] {
    return this.member?.assignment ?? [];
  }

  joined(): boolean {
    return this.member !== undefined;
  }

  // No transaction markers here: what was read is what was handed over.
  readThrough(topic: string, partition: number): number | undefined {
    return this.read.get(partitionKey(topic, partition));
  }

  async disconnect(): Promise<void> {
    this.running = false;
    this.log.wakeAll();
    await this.loop;
    if (this.member !== undefined) this.log.leave(this.options.groupId, this.member);
    this.member = undefined;
    this.onDisconnect(this);
  }

  /**
   * As Kafka's eager rebalance: every assigned partition resumes from the group's committed offset
   * (at the first assignment, from `startAt` where it names the partition).
   */
  private resetPositions(): void {
    this.positions.clear();
    for (const { topic, partitions } of this.assignment()) {
      for (const partition of partitions) {
        const committed = this.log.committed(this.options.groupId, topic, partition);
        const start = this.options.fromBeginning ?? true ? 0 : this.log.topic(topic).partitions[partition]!.length;
        const key = partitionKey(topic, partition);
        this.positions.set(key, this.startAt.get(key) ?? committed ?? start);
      }
    }
    if (this.member !== undefined) this.startAt.clear();
  }

  /** The next partition (round-robin) that has records past this member's position. */
  private nextBatch(): ConsumedBatch | undefined {
    const owned = this.assignment().flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
    const max = this.options.maxBatchRecords ?? defaultMaxBatchRecords;
    for (let i = 0; i < owned.length; i++) {
      const { topic, partition } = owned[(this.nextPartitionIndex + i) % owned.length]!;
      const position = this.positions.get(partitionKey(topic, partition));
      const records = this.log.topic(topic).partitions[partition]!;
      if (position === undefined || position >= records.length) continue;
      this.nextPartitionIndex = (this.nextPartitionIndex + i + 1) % owned.length;
      const slice = records.slice(position, position + max);
      return { topic, partition, records: slice, highWatermark: records.length, nextOffset: position + slice.length };
    }
    return undefined;
  }

  private async deliver(handler: BatchHandler): Promise<void> {
    let sinceYield = 0;
    while (this.running) {
      const batch = this.nextBatch();
      if (batch === undefined) {
        await this.log.nextChange();
        continue;
      }
      try {
        await handler(batch, inProcessContext);
        const key = partitionKey(batch.topic, batch.partition);
        // A rebalance during the handler reset the positions: the batch's own is stale then.
        if (this.positions.get(key) === batch.records[0]!.offset) this.positions.set(key, batch.nextOffset);
        this.read.set(key, batch.nextOffset);
      } catch {
        // Like a kafkajs consumer restarting after a crash: the batch is delivered again.
        await new Promise((resolve) => setTimeout(resolve, redeliveryDelayMs));
      }
      // Handlers that never wait on I/O would otherwise starve timers and sockets.
      if (++sinceYield >= 16) {
        sinceYield = 0;
        await yieldToEventLoop();
      }
    }
  }
}

class InProcessTransaction implements Transaction {
  private readonly staged: TopicBatch[] = [];
  private readonly offsets: { groupId: string; offsets: readonly TopicPartitionOffset[] }[] = [];
  private finished = false;

  constructor(
    private readonly log: InProcessLog,
    private readonly transactionalId: string,
    private readonly epoch: number,
    private readonly onEnd: () => void,
  ) {}

  async send(batches: readonly TopicBatch[]): Promise<void> {
    this.assertOpen();
    for (const batch of batches) this.log.topic(batch.topic);
    this.staged.push(...batches);
  }

  async sendOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.assertOpen();
    this.offsets.push({ groupId, offsets });
  }

  async commit(): Promise<void> {
    this.assertOpen();
    this.finished = true;
    this.onEnd();
    if (this.log.isFenced(this.transactionalId, this.epoch)) {
      throw new PosguardError('POSGUARD_ERR_TRANSPORT_TRANSACTION_STATE',
        `producer ${this.transactionalId} was fenced by a newer instance; transaction aborted`, { transactionalId: this.transactionalId });
    }
    // Output and offsets become visible in the same synchronous step: nothing can observe one without the other.
    this.log.append(this.staged);
    for (const { groupId, offsets } of this.offsets) this.log.commit(groupId, offsets);
  }

  async abort(): Promise<void> {
    this.assertOpen();
    this.finished = true;
    this.onEnd();
  }

  private assertOpen(): void {
    if (this.finished) {
      throw new PosguardError('POSGUARD_ERR_TRANSPORT_TRANSACTION_STATE', `transaction of ${this.transactionalId} already ended`,
        { transactionalId: this.transactionalId });
    }
  }
}

export function createInProcessTransport(log: InProcessLog = new InProcessLog()): Transport & { readonly log: InProcessLog } {
  const consumers = new Set<InProcessConsumer>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new PosguardError('POSGUARD_ERR_TRANSPORT_CLOSED', 'in-process transport is closed');
  };

  const admin: TopicAdmin = {
    async createTopics(specs) {
      for (const spec of specs) log.createTopic(spec);
    },
    async deleteTopics(names) {
      for (const name of names) log.deleteTopic(name);
    },
    async listTopics() {
      return log.topicNames();
    },
    async committedOffsets(groupId, topic): Promise<PartitionOffsets[]> {
      return log.topic(topic).partitions.map((_, partition) => ({
        partition, offset: log.committed(groupId, topic, partition) ?? -1, metadata: log.committedMetadata(groupId, topic, partition),
      }));
    },
    async endOffsets(topic): Promise<PartitionOffsets[]> {
      return log.topic(topic).partitions.map((records, partition) => ({ partition, offset: records.length }));
    },
    async startOffsets(topic): Promise<PartitionOffsets[]> {
      // The in-process log has no retention: every partition still starts at 0.
      return log.topic(topic).partitions.map((_, partition) => ({ partition, offset: 0 }));
    },
  };

  return {
    kind: 'in-process',
    log,
    admin,
    async producer(): Promise<Producer> {
      assertOpen();
      return {
        async send(batches) {
          assertOpen();
          log.append(batches);
        },
        async disconnect() {},
      };
    },
    async transactionalProducer(transactionalId): Promise<TransactionalProducer> {
      assertOpen();
      const epoch = log.registerTransactionalProducer(transactionalId);
      let open = false;
      return {
        async transaction() {
          assertOpen();
          if (open) {
            throw new PosguardError('POSGUARD_ERR_TRANSPORT_TRANSACTION_STATE', `${transactionalId} already has an open transaction`,
              { transactionalId });
          }
          open = true;
          return new InProcessTransaction(log, transactionalId, epoch, () => {
            open = false;
          });
        },
        async disconnect() {},
      };
    },
    async consumer(options) {
      assertOpen();
      const consumer = new InProcessConsumer(log, options, (c) => consumers.delete(c));
      consumer.join();
      consumers.add(consumer);
      return consumer;
    },
    async close() {
      closed = true;
      await Promise.all([...consumers].map((c) => c.disconnect()));
    },
  };
}
