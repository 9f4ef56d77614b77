/**
 * Snapshots of a stage's state in Kafka, so that a rebuild reads an amount proportional to the
 * state and does not depend on how long the input topics keep data.
 *
 * One compacted topic per stage (`<group>.snapshots`, one partition), one snapshot per task (the
 * state of partition p of the stage's inputs, whichever instance holds it). A snapshot is its
 * bytes in chunks (`chunk/<task>/<id>/<n>`, small enough for the broker's default record size)
 * followed by a manifest (`manifest/<task>`): the input positions the state corresponds to, which
 * were committed before the snapshot was taken. Written without a transaction, manifest last: a
 * manifest is only ever read after its chunks, and because stages are deterministic, a state
 * taken at committed positions is right whoever wrote it (even a fenced predecessor). Chunks of
 * a task that its manifest no longer names are deleted with tombstones on the task owner's next
 * write, and compaction reclaims them (only the owner deletes: another task's chunks without a
 * manifest may be a snapshot being written). The bytes are deflated (on libuv's thread pool, off the stage's thread): a
 * state's serialised form repeats the same ids and field names many times over.
 */

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import type { Logger } from '../observability/logging.ts';
import type { OutgoingRecord, Producer, TopicPartitionOffset, Transport } from '../transport/port.ts';

const chunkBytes = 256 * 1024;
/** Records per send: three chunks stay under the broker's default 1 MB record batch. */
const chunksPerSend = 3;

export const snapshotTopicOf = (groupId: string) => `${groupId}.snapshots`;

/** Compacted; segments roll and get cleaned within the hour, so superseded snapshots do not pile up. */
export const snapshotTopicConfig = {
  'segment.ms': String(3_600_000),
  'min.cleanable.dirty.ratio': '0.1',
  'delete.retention.ms': String(3_600_000),
} as const;

export interface SnapshotManifest {
  readonly format: 2;
  readonly id: string;
  readonly chunks: number;
  /** Size of the state, and of its deflated form in the chunks. */
  readonly bytes: number;
  readonly storedBytes: number;
  /** The task whose state it is (`task-<partition>`). */
  readonly task: string;
  /** The shape of the state (StageProcessor.stateVersion): a snapshot of another shape is not read. */
  readonly stateVersion: string;
  /** Input positions the state corresponds to (committed offsets when it was taken). */
  readonly positions: readonly TopicPartitionOffset[];
  /** Wall-clock time it was taken, for logs. */
  readonly takenAt: number;
}

export interface LoadedSnapshot {
  readonly manifest: SnapshotManifest;
  readonly state: Buffer;
}

export class SnapshotStore {
  readonly topic: string;
  private producer: Producer | undefined;
  /** Chunk keys of this owner's tasks that their newest manifest does not name: deleted on the next write. */
  private readonly stale = new Set<string>();
  /** The newest manifest of each task this owner loaded or wrote. */
  private readonly current = new Map<string, SnapshotManifest>();

  constructor(private readonly transport: Transport, groupId: string, private readonly stateVersion: string, private readonly logger: Logger) {
    this.topic = snapshotTopicOf(groupId);
  }

  async ensureTopic(): Promise<void> {
    await this.transport.admin.createTopics([{ topic: this.topic, partitions: 1, compacted: true, config: snapshotTopicConfig }]);
  }

  /** Reads the topic to its end; returns the newest snapshot of each of `tasks` that has one, and how much was read. */
  async load(tasks: readonly string[], aborted: AbortSignal): Promise<{ found: Map<string, LoadedSnapshot>; recordsRead: number; bytesRead: number }> {
    const [start] = await this.transport.admin.startOffsets(this.topic);
    const [end] = await this.transport.admin.endOffsets(this.topic);
    const chunks = new Map<string, Buffer>();
    const manifests = new Map<string, SnapshotManifest>();
    let recordsRead = 0;
    let bytesRead = 0;
    if (end !== undefined && end.offset > (start?.offset ?? 0)) {
      const reader = await this.transport.consumer({ groupId: `${this.topic}.reader.${randomUUID()}`, topics: [this.topic], maxBatchRecords: 4096 });
      let abandon = () => {};
      try {
        await new Promise<void>((resolve, reject) => {
          abandon = () => reject(new Error('stopped while reading state snapshots'));
          if (aborted.aborted) abandon();
          aborted.addEventListener('abort', abandon, { once: true });
          reader.run(async (batch) => {
            for (const record of batch.records) {
              recordsRead++;
              const key = record.key?.toString() ?? '';
              if (key.startsWith('chunk/')) {
                if (record.value === null) chunks.delete(key);
                else {
                  chunks.set(key, record.value);
                  bytesRead += record.value.length;
                }
              } else if (key.startsWith('manifest/')) {
                if (record.value === null) manifests.delete(key);
                else manifests.set(key, JSON.parse(record.value.toString()) as SnapshotManifest);
              }
            }
            if (batch.nextOffset >= end.offset) resolve();
          }).catch(reject);
        });
      } finally {
        aborted.removeEventListener('abort', abandon);
        await reader.disconnect();
      }
    }
    const found = new Map<string, LoadedSnapshot>();
    for (const task of tasks) {
      const manifest = manifests.get(`manifest/${task}`);
      const named = new Set<string>();
      if (manifest?.format === 2) for (let i = 0; i < manifest.chunks; i++) named.add(`chunk/${task}/${manifest.id}/${i}`);
      for (const key of chunks.keys()) if (key.startsWith(`chunk/${task}/`) && !named.has(key)) this.stale.add(key);
      if (manifest?.format !== 2) continue;
      if (manifest.stateVersion !== this.stateVersion) {
        this.logger.warn({ topic: this.topic, task, snapshot: manifest.id, stateVersion: manifest.stateVersion ?? null, expected: this.stateVersion },
          'the newest state snapshot holds state of another shape (written by another version); rebuilding the task from the input instead');
        continue;
      }
      const parts: Buffer[] = [];
      for (let i = 0; i < manifest.chunks; i++) {
        const part = chunks.get(`chunk/${task}/${manifest.id}/${i}`);
        if (part === undefined) break;
        parts.push(part);
      }
      if (parts.length < manifest.chunks) {
        this.logger.warn({ topic: this.topic, task, snapshot: manifest.id }, 'a state snapshot is missing a chunk; rebuilding the task from the input instead');
        continue;
      }
      this.current.set(task, manifest);
      found.set(task, { manifest, state: await inflate(Buffer.concat(parts)) });
    }
    return { found, recordsRead, bytesRead };
  }

  /** Writes a snapshot of a task's `state` at `positions`, then deletes the chunks it supersedes. */
  async write(state: Buffer, task: string, positions: readonly TopicPartitionOffset[]): Promise<SnapshotManifest> {
    const takenAt = Date.now();
    this.producer ??= await this.transport.producer();
    const stored = await deflate(state, { level: 1 });
    const manifest: SnapshotManifest = {
      format: 2, id: randomUUID(), chunks: Math.max(1, Math.ceil(stored.length / chunkBytes)), bytes: state.length, storedBytes: stored.length, task,
      stateVersion: this.stateVersion, positions: positions.map(({ topic, partition, offset }) => ({ topic, partition, offset })), takenAt,
    };
    const records: OutgoingRecord[] = [];
    for (let i = 0; i < manifest.chunks; i++) {
      records.push({ key: Buffer.from(`chunk/${task}/${manifest.id}/${i}`), value: stored.subarray(i * chunkBytes, (i + 1) * chunkBytes) });
    }
    for (let i = 0; i < records.length; i += chunksPerSend) await this.producer.send([{ topic: this.topic, records: records.slice(i, i + chunksPerSend) }]);
    await this.producer.send([{ topic: this.topic, records: [{ key: Buffer.from(`manifest/${task}`), value: Buffer.from(JSON.stringify(manifest)) }] }]);
    const previous = this.current.get(task);
    if (previous !== undefined) for (let i = 0; i < previous.chunks; i++) this.stale.add(`chunk/${task}/${previous.id}/${i}`);
    if (this.stale.size > 0) {
      await this.producer.send([{ topic: this.topic, records: [...this.stale].map((key) => ({ key: Buffer.from(key), value: null })) }]);
      this.stale.clear();
    }
    this.current.set(task, manifest);
    return manifest;
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}
