/**
 * Snapshots of a stage's state in Kafka, so that a rebuild reads an amount proportional to the
 * state and does not depend on how long the input topics keep data.
 *
 * One compacted topic per stage (`<group>.snapshots`, one partition). A snapshot is its bytes in
 * chunks (`chunk/<id>/<n>`, small enough for the broker's default record size) followed by a
 * manifest (`manifest/<assignment>`): the input positions the state corresponds to, which were
 * committed before the snapshot was taken. Written without a transaction, manifest last: a
 * manifest is only ever read after its chunks, and because stages are deterministic, a state
 * taken at committed positions is right whoever wrote it (even a fenced predecessor). Chunks that
 * no manifest names any more are deleted with tombstones on the next write, and compaction
 * reclaims them. The bytes are deflated (on libuv's thread pool, off the stage's thread): a
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
  readonly format: 1;
  readonly id: string;
  readonly chunks: number;
  /** Size of the state, and of its deflated form in the chunks. */
  readonly bytes: number;
  readonly storedBytes: number;
  /** The assignment the state covers (`topic:partition,…`): a snapshot only serves the same one. */
  readonly assignment: string;
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
  /** Chunk keys seen in the topic that the newest manifest does not name: deleted on the next write. */
  private readonly stale = new Set<string>();
  private current: SnapshotManifest | undefined;

  constructor(private readonly transport: Transport, groupId: string, private readonly logger: Logger) {
    this.topic = snapshotTopicOf(groupId);
  }

  async ensureTopic(): Promise<void> {
    await this.transport.admin.createTopics([{ topic: this.topic, partitions: 1, compacted: true, config: snapshotTopicConfig }]);
  }

  /** Reads the topic to its end; returns the newest snapshot for `assignment`, and how much was read. */
  async load(assignment: string, aborted: AbortSignal): Promise<{ snapshot: LoadedSnapshot | undefined; recordsRead: number; bytesRead: number }> {
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
    const named = new Set<string>();
    for (const m of manifests.values()) for (let i = 0; i < m.chunks; i++) named.add(`chunk/${m.id}/${i}`);
    for (const key of chunks.keys()) if (!named.has(key)) this.stale.add(key);
    const manifest = manifests.get(`manifest/${assignment}`);
    if (manifest === undefined) return { snapshot: undefined, recordsRead, bytesRead };
    const parts: Buffer[] = [];
    for (let i = 0; i < manifest.chunks; i++) {
      const part = chunks.get(`chunk/${manifest.id}/${i}`);
      if (part === undefined) {
        this.logger.warn({ topic: this.topic, snapshot: manifest.id, chunk: i }, 'a state snapshot is missing a chunk; rebuilding from the input instead');
        return { snapshot: undefined, recordsRead, bytesRead };
      }
      parts.push(part);
    }
    this.current = manifest;
    return { snapshot: { manifest, state: await inflate(Buffer.concat(parts)) }, recordsRead, bytesRead };
  }

  /** Writes a snapshot of `state` at `positions`, then deletes the chunks it supersedes. */
  async write(state: Buffer, assignment: string, positions: readonly TopicPartitionOffset[]): Promise<SnapshotManifest> {
    const takenAt = Date.now();
    this.producer ??= await this.transport.producer();
    const stored = await deflate(state, { level: 1 });
    const manifest: SnapshotManifest = {
      format: 1, id: randomUUID(), chunks: Math.max(1, Math.ceil(stored.length / chunkBytes)), bytes: state.length, storedBytes: stored.length, assignment,
      positions: positions.map(({ topic, partition, offset }) => ({ topic, partition, offset })), takenAt,
    };
    const records: OutgoingRecord[] = [];
    for (let i = 0; i < manifest.chunks; i++) {
      records.push({ key: Buffer.from(`chunk/${manifest.id}/${i}`), value: stored.subarray(i * chunkBytes, (i + 1) * chunkBytes) });
    }
    for (let i = 0; i < records.length; i += chunksPerSend) await this.producer.send([{ topic: this.topic, records: records.slice(i, i + chunksPerSend) }]);
    await this.producer.send([{ topic: this.topic, records: [{ key: Buffer.from(`manifest/${assignment}`), value: Buffer.from(JSON.stringify(manifest)) }] }]);
    if (this.current !== undefined && this.current.assignment === assignment) {
      for (let i = 0; i < this.current.chunks; i++) this.stale.add(`chunk/${this.current.id}/${i}`);
    }
    if (this.stale.size > 0) {
      await this.producer.send([{ topic: this.topic, records: [...this.stale].map((key) => ({ key: Buffer.from(key), value: null })) }]);
      this.stale.clear();
    }
    this.current = manifest;
    return manifest;
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}
