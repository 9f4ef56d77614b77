/**
 * The partition a key lands in, computed the way Kafka producers do it (kafkajs's default,
 * Java-compatible murmur2 partitioner), for code that must agree with the log's routing without
 * producing: per-partition state in the detectors, and the in-process log.
 */
import { Partitioners, type PartitionMetadata } from 'kafkajs';

/** Keys repeat (cards, terminals, merchants) and murmur2 is not free: cached, forgotten wholesale when large. */
const cacheLimit = 500_000;

export function keyPartitioner(partitions: number): (key: string) => number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [],
  }));
  const cache = new Map<string, number>();
  return (key) => {
    let partition = cache.get(key);
    if (partition === undefined) {
      partition = partitioner({ topic: '', partitionMetadata, message: { key: Buffer.from(key), value: null } });
      if (cache.size >= cacheLimit) cache.clear();
      cache.set(key, partition);
    }
    return partition;
  };
}
