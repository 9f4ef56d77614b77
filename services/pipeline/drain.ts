/**
 * Waits until every service has consumed and committed everything in its input topics: how a
 * bounded run (the demo, a test, a benchmark) knows the pipeline is done.
 */
import { topics } from '../core/codec/topics.ts';
import type { Transport } from '../core/transport/port.ts';
import { checkpointPending } from '../detectors/processors.ts';
import { consumerGroups, transactionalWritersOf, upstreamGroupsOf } from '../topology/topology.ts';
import type { RunningPipeline } from './pipeline.ts';

/** Whether every group upstream of a detector input topic has consumed and committed all its input. */
export const upstreamCaughtUp = (transport: Transport) => async (topic: string): Promise<boolean> => {
  const groups = upstreamGroupsOf(topic);
  if (groups.length === 0) return true;
  // Consumed is not yet released: a detector task holds inputs in event-time order, and says so
  // in the checkpoint it commits until it has let them go.
  const { lag, pending } = await progressOf(transport, groups);
  return lag === 0 && !pending;
};

/** Records not yet consumed and committed by the pipeline's groups (on Kafka, up to trailing commit markers). */
export async function totalLag(transport: Transport, groups: readonly string[] = Object.keys(consumerGroups)): Promise<number> {
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
    for (const topic of consumerGroups[group] ?? []) {
      const committed = await transport.admin.committedOffsets(group, topic);
      pending ||= committed.some((c) => checkpointPending(c.metadata));
      const markers = transport.kind === 'kafka' ? transactionalWritersOf(topic, partitions) : 0;
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
