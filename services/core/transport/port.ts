/**
 * The transport port: what services need from a log — produce, consume in groups and batches,
 * transactions that commit output and consumed offsets together, offsets, topic admin. Two
 * adapters implement it: Kafka (kafkajs) for the distributed mode and an in-process log for the
 * embedded mode; one contract suite (test/core/transport.contract.ts) runs against both.
 *
 * Offsets are JavaScript numbers (exact up to 2^53, far beyond any partition's life) and, as in
 * Kafka, a committed offset is the next offset to read.
 */

export interface OutgoingRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, Buffer | string>>;
  /** Record timestamp in ms; services pass the event time so the log is reproducible. */
  readonly timestamp?: number;
  /** Where it goes when not by its key: a watermark marker is written to every partition. */
  readonly partition?: number;
}

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | undefined>>;
  readonly timestamp: number;
}

export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ConsumedRecord[];
  /** Offset the next record appended to the partition will get. */
  readonly highWatermark: number;
  /** The offset to commit once every record of the batch is processed (last offset + 1). */
  readonly nextOffset: number;
}

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read. */
  readonly offset: number;
  /** Kept with the committed offset (Kafka's offset metadata): a stage's checkpoint. */
  readonly metadata?: string;
}

export interface TopicBatch {
  readonly topic: string;
  readonly records: readonly OutgoingRecord[];
}

export interface Producer {
  /** Appends records; resolves once the log acknowledged all of them (acks=all on Kafka). */
  send(batches: readonly TopicBatch[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface Transaction {
  send(batches: readonly TopicBatch[]): Promise<void>;
  /** Commits these consumer-group offsets if, and only if, the transaction commits. */
  sendOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TransactionalProducer {
  /**
   * Begins a transaction. One at a time per producer. A new producer with the same
   * transactionalId fences the old one (Kafka's zombie fencing).
   */
  transaction(): Promise<Transaction>;
  disconnect(): Promise<void>;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts: earliest (true, default) or latest. */
  readonly fromBeginning?: boolean;
  /** Upper bound on records per delivered batch. */
  readonly maxBatchRecords?: number;
  /** Where this member starts reading these partitions, whatever the group committed (a replay that begins mid-partition). */
  readonly startAt?: readonly TopicPartitionOffset[];
}

export interface PartitionAssignment {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface BatchContext {
  /**
   * Tells the group this member is alive. Kafka evicts a member that goes quiet for its session
   * timeout; long work inside a handler (a stage rebuilding its state) calls this as it goes.
   */
  heartbeat(): Promise<void>;
}

export type BatchHandler = (batch: ConsumedBatch, context: BatchContext) => Promise<void>;

export interface Consumer {
  /**
   * Starts delivering batches, one partition's batch at a time, each only after the previous
   * handler call resolved. Nothing is committed automatically: call `commit`, or commit through a
   * transaction's `sendOffsets`. A handler that throws gets the batch again.
   */
  run(handler: BatchHandler): Promise<void>;
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /**
   * Partitions this member owns since the last rebalance (empty before joining). A group's
   * partitions are assigned co-partitioned: partition p of every subscribed topic goes to the same
   * member, so a stage's task p (the same keys in each of its input topics) lives in one place.
   */
  assignment(): readonly PartitionAssignment[];
  /**
   * Whether the member has joined its group since it connected: its assignment is then known, and
   * may be empty (a standby, when the group has more members than partitions).
   */
  joined(): boolean;
  /**
   * The offset after the last record this member has read from a partition, counting what a
   * read_committed consumer never hands over (transaction markers, aborted records); undefined
   * before its first read. At a partition's end offset, the member has read everything.
   */
  readThrough(topic: string, partition: number): number | undefined;
  /** Leaves the group without committing anything further. */
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly compacted?: boolean;
  /** Further topic configuration (`retention.ms`, `segment.ms` …), applied when the topic is created. */
  readonly config?: Readonly<Record<string, string>>;
}

export interface PartitionOffsets {
  readonly partition: number;
  readonly offset: number;
  readonly metadata?: string | null;
}

export interface TopicAdmin {
  /** Creates the topics that do not exist; existing ones are left as they are. */
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Committed offsets of a group for a topic; -1 where the group committed nothing. */
  committedOffsets(groupId: string, topic: string): Promise<PartitionOffsets[]>;
  /** High watermark of each partition. */
  endOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Earliest offset still held by each partition (what retention has not deleted yet). */
  startOffsets(topic: string): Promise<PartitionOffsets[]>;
}

export interface Transport {
  readonly kind: 'kafka' | 'in-process';
  readonly admin: TopicAdmin;
  producer(): Promise<Producer>;
  transactionalProducer(transactionalId: string): Promise<TransactionalProducer>;
  consumer(options: ConsumerOptions): Promise<Consumer>;
  close(): Promise<void>;
}
