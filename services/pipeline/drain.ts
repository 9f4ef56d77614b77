/**
 * Waits until every service has consumed and committed everything in its input topics: how a
 * bounded run (the demo, a test, a benchmark) knows the pipeline is done.
 */
import { internalTopics, topics } from '../core/codec/topics.ts';
import type { Transport } from '../core/transport/port.ts';
import { checkpointPending } from '../detectors/processors.ts';
import { detectorGroupId } from '../detectors/service.ts';
import { ENRICHER_GROUP } from '../enricher/service.ts';
import { tableOfTopic } from '../sink/rows.ts';
import { SINK_GROUP } from '../sink/service.ts';
import type { RunningPipeline } from './pipeline.ts';

/** Each consumer group of the pipeline and the topics it reads. */
export const pipelineGroups: Readonly<Record<string, readonly string[]>> = {
  [ENRICHER_GROUP]: [topics.authorisations],
  [detectorGroupId('card')]: [topics.enrichedAuthorisations, topics.cardOutcomes],
  [detectorGroupId('terminal')]: [internalTopics.byTerminal],
  [detectorGroupId('merchant')]: [internalTopics.byMerchant],
  [detectorGroupId('arbiter')]: [internalTopics.clusters],
  [SINK_GROUP]: Object.keys(tableOfTopic),
};

/**
 * The groups whose output reaches a detector input topic, directly or through other stages.
 * card.outcomes.v1 comes straight from acquirers: nothing of ours is upstream of it.
 */
const upstreamGroups: Readonly<Record<string, readonly string[]>> = {
  [topics.enrichedAuthorisations]: [ENRICHER_GROUP],
  [topics.cardOutcomes]: [],
  [internalTopics.byTerminal]: [ENRICHER_GROUP, detectorGroupId('card')],
  [internalTopics.byMerchant]: [ENRICHER_GROUP, detectorGroupId('card')],
  [internalTopics.clusters]: [ENRICHER_GROUP, detectorGroupId('card'), detectorGroupId('merchant')],
};

/** Whether every group upstream of a detector input topic has consumed and committed all its input. */
export const upstreamCaughtUp = (transport: Transport) => async (topic: string): Promise<boolean> => {
  const groups = upstreamGroups[topic];
  if (groups === undefined) throw new Error(`no upstream known for topic ${topic}`);
  if (groups.length === 0) return true;
  // Consumed is not yet released: a detector task holds inputs in event-time order, and says so
  // in the checkpoint it commits until it has let them go.
  const { lag, pending } = await progressOf(transport, groups);
  return lag === 0 && !pending;
};

/**
 * How many transactional producers may write one partition of each topic, given the partition
 * count P of the stages' inputs. Each stage task has its producer: enricher task p alone writes
 * auth.enriched.v1 partition p; every card task writes every repartition partition (records and
 * watermark markers), every merchant task the clusters topic; any detector task may raise an
 * alert. On Kafka each transaction ends with a control marker that takes an offset but is never
 * delivered, so up to one marker per such producer can trail a partition's last record: that much
 * "lag" is nothing left to read.
 */
function transactionalWriters(topic: string, partitions: number): number {
  const detectorTasks = 3 * partitions + 1;
  switch (topic) {
    case topics.enrichedAuthorisations: return 1;
    case internalTopics.byTerminal:
    case internalTopics.byMerchant:
    case internalTopics.clusters: return partitions;
    case topics.fraudAlerts: return detectorTasks;
    case topics.deadLetters: return partitions + detectorTasks;
    default: return 0;
  }
}

/** Records not yet consumed and committed by the pipeline's groups (on Kafka, up to trailing commit markers). */
export async function totalLag(transport: Transport, groups: readonly string[] = Object.keys(pipelineGroups)): Promise<number> {
  return (await progressOf(transport, groups)).lag;
}

/**
 * The groups' committed offsets, read once per input topic: the records not yet consumed and
 * committed, and whether any committed checkpoint is still pending (checkpointPending).
 */
async function progressOf(transport: Transport, groups: readonly string[]): Promise<{ lag: number; pending: boolean }> {
  let lag = 0;
  let pending = false;
  const partitions = (await transport.admin.endOffsets(topics.enrichedAuthorisations)).length;
  for (const group of groups) {
    for (const topic of pipelineGroups[group] ?? []) {
      const committed = await transport.admin.committedOffsets(group, topic);
      pending ||= committed.some((c) => checkpointPending(c.metadata));
      const markers = transport.kind === 'kafka' ? transactionalWriters(topic, partitions) : 0;
      for (const { partition, offset } of await transport.admin.endOffsets(topic)) {
        const at = Math.max(0, committed.find((c) => c.partition === partition)?.offset ?? 0);
        const behind = offset - at;
        lag += behind <= markers ? 0 : behind;
      }
    }
  }
  return { lag, pending };
}

/**
 * Waits until every group has consumed everything and every stage has released all that its
 * watermark allows (its partitions went idle), so no more output comes without more input.
 */
export async function waitForDrain(transport: Transport, pipeline: Pick<RunningPipeline, 'groups' | 'sink' | 'stages'>, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let quiet = 0;
  while (Date.now() < deadline) {
    await pipeline.sink?.flush();
    if (pipeline.stages.every((s) => s.settled()) && (await totalLag(transport, pipeline.groups)) === 0) {
      if (++quiet >= 2) return;
    } else {
      quiet = 0;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
  throw new Error('the pipeline did not drain in time');
}
