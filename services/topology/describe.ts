/**
 * The topology as text, the way Kafka Streams' `Topology.describe()` prints it: each stage with its
 * group, tasks, inputs, state, outputs and where each output is read next.
 */
import { contractOf } from '../core/codec/topics.ts';
import { partitionsOf, taskCountOf, topology, type StageDeclaration } from './topology.ts';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const readersOf = (topic: string) => topology.filter((s) => s.inputs.includes(topic as never) || s.tables?.includes(topic as never)).map((s) => s.name);

function describeStage(s: StageDeclaration, partitions: number): string[] {
  const topicLine = (topic: string) => `${topic} (${contractOf(topic)?.recordName ?? '?'}, ${plural(partitionsOf(topic as never, partitions), 'partition')}, key ${contractOf(topic)?.keyDescription ?? '?'})`;
  const lines = [
    `Stage ${s.name} — service ${s.service}, group ${s.group}, ${plural(taskCountOf(s, partitions), 'task')}${s.transactional ? ', exactly once (one transaction per task batch)' : ', at least once (idempotent inserts)'}`,
    `  ${s.processor}`,
    ...s.inputs.map((t) => `  <- ${topicLine(t)}${s.storesIn?.[t] === undefined ? '' : ` => ClickHouse ${s.storesIn[t]}`}`),
    ...(s.tables ?? []).map((t) => `  <- table ${topicLine(t)}, read whole by every instance`),
    ...(s.state === undefined ? [] : [`  state: ${s.state}${s.eventTime ? ', released in event-time order' : ''}`]),
    ...s.outputs.map((o) => {
      const next = readersOf(o.topic);
      return `  -> ${o.topic} (${o.spread === 'own' ? 'task p to partition p' : o.spread === 'keyed' ? 'by key' : 'by key, with watermark markers to every partition'})${next.length > 0 ? ` -> ${next.join(', ')}` : ''}`;
    }),
  ];
  return lines;
}

export function describeTopology(partitions: number): string {
  const sources = [...new Set(topology.flatMap((s) => [...s.inputs, ...(s.tables ?? [])]))]
    .filter((t) => !topology.some((s) => s.outputs.some((o) => o.topic === t)));
  return [
    `Sources (written by acquirers): ${sources.join(', ')}`,
    '',
    ...topology.flatMap((s) => [...describeStage(s, partitions), '']),
  ].join('\n');
}
