/**
 * The detectors service: the four stage processors (processors.ts), each a consume-transform-
 * produce stage over its topics, exactly once, with its state rebuilt from its input on
 * (re)assignment. The repartition topics carry Avro (DetectorInput, ClusterInput).
 */
import { internalTopics, topics } from '../core/codec/topics.ts';
import { declared, groupOf, markedOutputsOf, markerWritersOf, stagesOf, type StageName } from '../topology/topology.ts';
import type { CardOutcome, Decision, EnrichedAuthorisation, FraudAlert } from '../core/records.ts';
import { keyPartitioner } from '../core/transport/key-partition.ts';
import { admitRecord } from '../core/record-admission.ts';
import type { Metrics } from '../core/observability/metrics.ts';
import type { StageRunnerDeps } from '../core/service/stage/context.ts';
import type { Emit, StageProcessor, TaskProcessor } from '../core/service/stage/processor.ts';
import { runStage, type RunningStage } from '../core/service/stage-runner.ts';
import { authorisationInput, outcomeInput, type CompromiseNotice, type DisputeNotice } from './inputs.ts';
import type { CardAssessment } from './decision/card-assessment.ts';
import type { DecisionPolicies } from './decision/decide.ts';
import {
  ArbiterProcessor, CardProcessor, MerchantProcessor, TerminalProcessor, candidateInput, emptyOutput, statisticInput,
  type ArbiterInput, type ProcessorOutput,
} from './processors.ts';
import type { KeyedStageInput } from './routing.ts';
import type { ClusterCandidate } from './skimming-cluster/cluster-arbiter.ts';
import type { CityStatistic } from './skimming-cluster/skimming-cluster.ts';
import { detectorStateVersion, restoreSnapshot, takeSnapshot } from './kernel/snapshot.ts';
import type { Thresholds } from './thresholds.ts';

/** The Avro form of a re-keyed stage input (schemas/DetectorInput.avsc). */
interface DetectorInputRecord {
  kind: 'AUTHORISATION' | 'COMPROMISE' | 'DISPUTE' | 'UNKNOWN' | 'WATERMARK';
  authorisation: EnrichedAuthorisation | null;
  compromise: CompromiseNotice | null;
  dispute: DisputeNotice | null;
  card: CardAssessment | null;
  watermark: WatermarkMarker | null;
}

interface ClusterInputRecord {
  kind: 'CANDIDATE' | 'STATISTIC' | 'UNKNOWN' | 'WATERMARK';
  candidate: ClusterCandidate | null;
  statistic: CityStatistic | null;
  watermark: WatermarkMarker | null;
}

/** A writer's promise that it sends nothing older than `time` any more (schemas/DetectorInput.avsc). */
interface WatermarkMarker {
  writer: string;
  time: number;
}

const detectorInputMarker = (watermark: WatermarkMarker): DetectorInputRecord =>
  ({ kind: 'WATERMARK', authorisation: null, compromise: null, dispute: null, card: null, watermark });

const clusterInputMarker = (watermark: WatermarkMarker): ClusterInputRecord =>
  ({ kind: 'WATERMARK', candidate: null, statistic: null, watermark });

function detectorInputRecord(input: KeyedStageInput): DetectorInputRecord {
  switch (input.kind) {
    case 'authorisation':
      return { kind: 'AUTHORISATION', authorisation: input.value, compromise: null, dispute: null, card: input.card ?? null, watermark: null };
    case 'compromise':
      return { kind: 'COMPROMISE', authorisation: null, compromise: input.value, dispute: null, card: null, watermark: null };
    case 'dispute':
      return { kind: 'DISPUTE', authorisation: null, compromise: null, dispute: input.value, card: null, watermark: null };
    case 'outcome':
      throw new Error('outcomes are not re-keyed');
  }
}

function stageInputOf(record: DetectorInputRecord, key: string): KeyedStageInput {
  if (record.kind === 'AUTHORISATION' && record.authorisation !== null) {
    const a = record.authorisation;
    const input = authorisationInput(a);
    return record.card === null ? { ...input, key } : { kind: 'authorisation', time: input.time, id: input.id, value: a, card: record.card, key };
  }
  if (record.kind === 'COMPROMISE' && record.compromise !== null) {
    const n = record.compromise;
    return { kind: 'compromise', time: n.time, id: `c:${n.cardToken}:${key}`, value: n, key };
  }
  if (record.kind === 'DISPUTE' && record.dispute !== null) {
    const n = record.dispute;
    return { kind: 'dispute', time: n.time, id: `d:${n.outcomeId}:${n.eventId}`, value: n, key };
  }
  throw new Error(`DetectorInput of kind ${record.kind} has no matching payload`);
}

function arbiterInputOf(record: ClusterInputRecord): ArbiterInput {
  if (record.kind === 'CANDIDATE' && record.candidate !== null) return candidateInput(record.candidate);
  if (record.kind === 'STATISTIC' && record.statistic !== null) return statisticInput(record.statistic);
  throw new Error(`ClusterInput of kind ${record.kind} has no matching payload`);
}

const clusterInputRecord = (input: ArbiterInput): ClusterInputRecord => input.kind === 'candidate'
  ? { kind: 'CANDIDATE', candidate: input.value, statistic: null, watermark: null }
  : { kind: 'STATISTIC', candidate: null, statistic: input.value, watermark: null };

/** What a stage tells its metrics about what it publishes. */
interface Published {
  alert(alert: FraudAlert): void;
  decision(decision: Decision): void;
}

/** Publishes a drain's output: alerts and decisions stamped with the wall clock (and told to `published`), routed inputs to their topics. */
function emitOutput(out: ProcessorOutput, emit: Emit, published?: Published): void {
  for (const alert of out.alerts) {
    const stamped: FraudAlert = { ...alert, emittedAt: Date.now() };
    published?.alert(stamped);
    emit(topics.fraudAlerts, alert.subjectId, stamped, alert.detectedAt);
  }
  for (const decision of out.decisions) {
    const stamped: Decision = { ...decision, decidedAt: Date.now() };
    published?.decision(stamped);
    emit(topics.decisions, decision.cardToken, stamped, decision.eventTime);
  }
  for (const input of out.toTerminal) emit(internalTopics.byTerminal, input.key, detectorInputRecord(input), input.time);
  for (const input of out.toMerchant) emit(internalTopics.byMerchant, input.key, detectorInputRecord(input), input.time);
  for (const input of out.toArbiter) emit(internalTopics.clusters, 'clusters', clusterInputRecord(input), input.time);
  out.alerts.length = 0;
  out.decisions.length = 0;
  out.toTerminal.length = 0;
  out.toMerchant.length = 0;
  out.toArbiter.length = 0;
}

interface Drainable {
  drain(out: ProcessorOutput): void;
  idle(source: string, idle: boolean): void;
  mark(source: string, time: number): void;
  checkpoint(): string | undefined;
  restore(checkpoint: string | undefined, out: ProcessorOutput): void;
  readonly lateInputs: number;
  readonly watermark: number;
  readonly keys: number;
}

/** How one detector stage feeds its processor (what it reads and writes is in the topology). */
interface DetectorStageSpec<P extends Drainable> {
  readonly name: DetectorStage;
  create(): P;
  /** Feeds one decoded record of partition `partition` of `topic` (the source of its event time). */
  accept(p: P, topic: string, value: unknown, key: string, partition: number): void;
}

/** How a watermark marker is written to each repartition topic. */
const markerOf: Readonly<Record<string, (m: WatermarkMarker) => unknown>> = {
  [internalTopics.byTerminal]: detectorInputMarker,
  [internalTopics.byMerchant]: detectorInputMarker,
  [internalTopics.clusters]: clusterInputMarker,
};

/** An input's source of event time: its partition, or, where several upstream tasks write the partition, partition and writer. */
const sourceOf = (topic: string, partition: number, writer?: string) => writer === undefined ? `${topic}:${partition}` : `${topic}:${partition}:${writer}`;

/**
 * One task of a detector stage (partition p of its inputs) as a stage-runner task. After every
 * collect that moved the task's watermark, it writes a watermark marker into every partition of
 * the repartition topics it feeds, so that downstream tasks know how far each writer has gone
 * (several upstream tasks, on any instances, interleave in one partition).
 */
function taskOf<P extends Drainable>(spec: DetectorStageSpec<P>, partition: number, partitions: number, published: Published): TaskProcessor {
  let processor = spec.create();
  // The upstream tasks writing each partition of an input send watermark markers, and each is a
  // source of event time of its own; a topic with one writer per partition is one source.
  const writers = new Map(declared(spec.name).inputs.map((topic) => [topic as string, markerWritersOf(topic, partitions)]));
  const feeds = markedOutputsOf(spec.name, partitions);
  let marked = Number.NEGATIVE_INFINITY;
  const out = emptyOutput();
  const writer = `${spec.name}:${partition}`;
  const sources = (topic: string) => {
    const of = writers.get(topic) ?? [];
    return of.length === 0 ? [sourceOf(topic, partition)] : of.map((w) => sourceOf(topic, partition, w));
  };
  return {
    accept(topic, value, key) {
      spec.accept(processor, topic, value, key, partition);
    },
    idle(topic, idle) {
      for (const source of sources(topic)) processor.idle(source, idle);
    },
    collect(emit) {
      processor.drain(out);
      emitOutput(out, emit, published);
      const time = processor.watermark;
      if (feeds.length === 0 || time <= marked) return;
      marked = time;
      for (const feed of feeds) {
        const record = markerOf[feed.topic]!({ writer, time });
        for (let q = 0; q < feed.partitions; q++) emit(feed.topic, writer, record, time, q);
      }
    },
    checkpoint: () => processor.checkpoint(),
    lateInputs: () => processor.lateInputs,
    watermark: () => processor.watermark,
    keys: () => processor.keys,
    restore(checkpoint) {
      processor.restore(checkpoint, out);
      emitOutput(out, () => undefined);
      // Markers up to here went out with the outputs they follow.
      marked = processor.watermark;
    },
    snapshot: () => takeSnapshot(processor),
    restoreSnapshot(state) {
      processor = spec.create();
      restoreSnapshot(processor, state);
    },
  };
}

export type DetectorStage = Extract<StageName, 'card' | 'terminal' | 'merchant' | 'arbiter'>;
export const detectorStages = stagesOf('detectors').map((s) => s.name as DetectorStage);

/** A repartitioned input: a data record goes to the queue, a marker moves its writer's source. */
function acceptRepartitioned<P extends Drainable>(p: P, topic: string, partition: number, marker: WatermarkMarker | null, push: () => void): void {
  if (marker === null) push();
  else p.mark(sourceOf(topic, partition, marker.writer), marker.time);
}

function detectorStage(name: DetectorStage, thresholds: Thresholds, policies: DecisionPolicies, partitions: number, metrics: Metrics): StageProcessor {
  const alerts = metrics.get('posguard_alerts_total');
  const decisions = metrics.get('posguard_decisions_total');
  const decisionDelay = metrics.get('posguard_decision_delay_seconds');
  const alertDelay = metrics.get('posguard_alert_delay_seconds');
  const published: Published = {
    alert: (alert) => {
      alerts.inc({ detector: alert.detector, severity: alert.severity });
      alertDelay.observe({ detector: alert.detector }, Math.max(0, alert.emittedAt - alert.detectedAt) / 1000);
    },
    decision: (decision) => {
      decisions.inc({ decision: decision.decision });
      decisionDelay.observe(Math.max(0, decision.decidedAt - decision.eventTime) / 1000);
    },
  };
  const spec = ((): DetectorStageSpec<Drainable> => {
    switch (name) {
      case 'card':
        return {
          name,
          create: () => new CardProcessor(thresholds, keyPartitioner(partitions)),
          accept: (p, topic, value, _key, partition) => {
            // Outcomes come straight from issuers and acquirers; enriched authorisations passed the enricher's door.
            if (topic === topics.cardOutcomes) admitRecord('outcome', value, topic);
            (p as CardProcessor).push(topic === topics.cardOutcomes ? outcomeInput(value as CardOutcome) : authorisationInput(value as EnrichedAuthorisation), sourceOf(topic, partition));
          },
        };
      case 'terminal':
      case 'merchant': {
        return {
          name,
          create: () => name === 'terminal' ? new TerminalProcessor(thresholds, policies, keyPartitioner(partitions)) : new MerchantProcessor(thresholds),
          accept: (p, t, value, key, partition) => {
            const record = value as DetectorInputRecord;
            acceptRepartitioned(p, t, partition, record.kind === 'WATERMARK' ? record.watermark : null,
              () => (p as TerminalProcessor | MerchantProcessor).push(stageInputOf(record, key)));
          },
        };
      }
      case 'arbiter':
        return {
          name,
          create: () => new ArbiterProcessor(thresholds),
          accept: (p, t, value, _key, partition) => {
            const record = value as ClusterInputRecord;
            acceptRepartitioned(p, t, partition, record.kind === 'WATERMARK' ? record.watermark : null,
              () => (p as ArbiterProcessor).push(arbiterInputOf(record)));
          },
        };
    }
  })();
  return { inputTopics: declared(name).inputs, stateful: true, stateVersion: detectorStateVersion, task: (partition) => taskOf(spec, partition, partitions, published) };
}

/**
 * Starts the stages (all four by default, one instance each) against the transport.
 * `upstreamCaughtUp(topic)` tells whether everything upstream of an input topic has consumed its
 * input (see StageRunnerDeps.upstreamCaughtUp).
 */
export async function runDetectors(deps: Omit<StageRunnerDeps, 'groupId' | 'transactionalId'> & {
  thresholds: Thresholds; decisionPolicies: DecisionPolicies; partitions: number; upstreamCaughtUp: (topic: string) => Promise<boolean>;
}, stages: readonly DetectorStage[] = detectorStages): Promise<RunningStage[]> {
  const running: RunningStage[] = [];
  for (const name of stages) {
    running.push(await runStage({
      ...deps,
      groupId: groupOf(name),
      transactionalId: groupOf(name),
    }, detectorStage(name, deps.thresholds, deps.decisionPolicies, deps.partitions, deps.metrics)));
  }
  return running;
}
