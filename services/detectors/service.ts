/**
 * The detectors service: the four stage processors (processors.ts), each a consume-transform-
 * produce stage over its topics, exactly once, with its state rebuilt from its input on
 * (re)assignment. The repartition topics carry Avro (DetectorInput, ClusterInput).
 */
import { internalTopics, topics } from '../core/codec/topics.ts';
import type { CardOutcome, EnrichedAuthorisation, FraudAlert } from '../core/records.ts';
import { keyPartitioner } from '../core/transport/key-partition.ts';
import { runStage, type RunningStage, type StageProcessor, type StageRunnerDeps } from '../core/service/stage-runner.ts';
import { authorisationInput, outcomeInput, type CompromiseNotice, type DisputeNotice } from './inputs.ts';
import {
  ArbiterProcessor, CardProcessor, MerchantProcessor, TerminalProcessor, candidateInput, emptyOutput, statisticInput,
  type ArbiterInput, type KeyedStageInput, type ProcessorOutput,
} from './processors.ts';
import type { ClusterCandidate } from './skimming-cluster/cluster-arbiter.ts';
import type { CityStatistic } from './skimming-cluster/skimming-cluster.ts';
import { restoreSnapshot, takeSnapshot } from './kernel/snapshot.ts';
import type { Thresholds } from './thresholds.ts';

/** The Avro form of a re-keyed stage input (schemas/DetectorInput.avsc). */
interface DetectorInputRecord {
  kind: 'AUTHORISATION' | 'COMPROMISE' | 'DISPUTE' | 'UNKNOWN';
  authorisation: EnrichedAuthorisation | null;
  compromise: CompromiseNotice | null;
  dispute: DisputeNotice | null;
}

interface ClusterInputRecord {
  kind: 'CANDIDATE' | 'STATISTIC' | 'UNKNOWN';
  candidate: ClusterCandidate | null;
  statistic: CityStatistic | null;
}

function detectorInputRecord(input: KeyedStageInput): DetectorInputRecord {
  switch (input.kind) {
    case 'authorisation':
      return { kind: 'AUTHORISATION', authorisation: input.value, compromise: null, dispute: null };
    case 'compromise':
      return { kind: 'COMPROMISE', authorisation: null, compromise: input.value, dispute: null };
    case 'dispute':
      return { kind: 'DISPUTE', authorisation: null, compromise: null, dispute: input.value };
    case 'outcome':
      throw new Error('outcomes are not re-keyed');
  }
}

function stageInputOf(record: DetectorInputRecord, key: string): KeyedStageInput {
  if (record.kind === 'AUTHORISATION' && record.authorisation !== null) return { ...authorisationInput(record.authorisation), key };
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
  ? { kind: 'CANDIDATE', candidate: input.value, statistic: null }
  : { kind: 'STATISTIC', candidate: null, statistic: input.value };

type Emit = (topic: string, key: string, value: unknown, timestamp: number) => void;

/** Publishes a drain's output: alerts stamped with the wall clock, routed inputs to their topics. */
function emitOutput(out: ProcessorOutput, emit: Emit): void {
  for (const alert of out.alerts) {
    const published: FraudAlert = { ...alert, emittedAt: Date.now() };
    emit(topics.fraudAlerts, alert.subjectId, published, alert.detectedAt);
  }
  for (const input of out.toTerminal) emit(internalTopics.byTerminal, input.key, detectorInputRecord(input), input.time);
  for (const input of out.toMerchant) emit(internalTopics.byMerchant, input.key, detectorInputRecord(input), input.time);
  for (const input of out.toArbiter) emit(internalTopics.clusters, 'clusters', clusterInputRecord(input), input.time);
  out.alerts.length = 0;
  out.toTerminal.length = 0;
  out.toMerchant.length = 0;
  out.toArbiter.length = 0;
}

interface Drainable {
  drain(out: ProcessorOutput): void;
  idle(source: string, idle: boolean): void;
  checkpoint(): string | undefined;
  restore(checkpoint: string | undefined, out: ProcessorOutput): void;
  readonly lateInputs: number;
}

/**
 * A stage processor over one of the detector processors, rebuilt from scratch by `reset`. Each
 * input partition is a source of the processor's event-time queue.
 */
function stageOf<P extends Drainable>(inputTopics: readonly string[], create: () => P, accept: (p: P, topic: string, value: unknown, key: string, source: string) => void): StageProcessor {
  let processor = create();
  const out = emptyOutput();
  return {
    inputTopics,
    stateful: true,
    reset() {
      processor = create();
    },
    accept(topic, value, key, partition) {
      accept(processor, topic, value, key, `${topic}:${partition}`);
    },
    idle(topic, partition, idle) {
      processor.idle(`${topic}:${partition}`, idle);
    },
    collect(emit) {
      processor.drain(out);
      emitOutput(out, emit);
    },
    checkpoint: () => processor.checkpoint(),
    lateInputs: () => processor.lateInputs,
    restore(checkpoint) {
      processor.restore(checkpoint, out);
      emitOutput(out, () => undefined);
    },
    snapshot: () => takeSnapshot(processor),
    restoreSnapshot(state) {
      processor = create();
      restoreSnapshot(processor, state);
    },
  };
}

export const detectorStages = ['card', 'terminal', 'merchant', 'arbiter'] as const;
export type DetectorStage = (typeof detectorStages)[number];

export const detectorGroupId = (stage: DetectorStage) => `posguard.detectors.${stage}`;

function detectorStage(stage: DetectorStage, thresholds: Thresholds, partitions: number): StageProcessor {
  switch (stage) {
    case 'card':
      return stageOf([topics.enrichedAuthorisations, topics.cardOutcomes], () => new CardProcessor(thresholds, keyPartitioner(partitions)), (p, topic, value, _key, source) => {
        p.push(topic === topics.cardOutcomes ? outcomeInput(value as CardOutcome) : authorisationInput(value as EnrichedAuthorisation), source);
      });
    case 'terminal':
      return stageOf([internalTopics.byTerminal], () => new TerminalProcessor(thresholds), (p, _topic, value, key, source) => {
        p.push(stageInputOf(value as DetectorInputRecord, key), source);
      });
    case 'merchant':
      return stageOf([internalTopics.byMerchant], () => new MerchantProcessor(thresholds), (p, _topic, value, key, source) => {
        p.push(stageInputOf(value as DetectorInputRecord, key), source);
      });
    case 'arbiter':
      return stageOf([internalTopics.clusters], () => new ArbiterProcessor(thresholds), (p, _topic, value, _key, source) => {
        p.push(arbiterInputOf(value as ClusterInputRecord), source);
      });
  }
}

/**
 * Starts the stages (all four by default, one instance each) against the transport.
 * `upstreamCaughtUp(topic)` tells whether everything upstream of an input topic has consumed its
 * input (see StageRunnerDeps.upstreamCaughtUp).
 */
export async function runDetectors(deps: Omit<StageRunnerDeps, 'groupId' | 'transactionalId'> & {
  instanceId: string; thresholds: Thresholds; partitions: number; upstreamCaughtUp: (topic: string) => Promise<boolean>;
}, stages: readonly DetectorStage[] = detectorStages): Promise<RunningStage[]> {
  const running: RunningStage[] = [];
  for (const stage of stages) {
    running.push(await runStage({
      ...deps,
      groupId: detectorGroupId(stage),
      transactionalId: `posguard-detectors-${stage}-${deps.instanceId}`,
    }, detectorStage(stage, deps.thresholds, deps.partitions)));
  }
  return running;
}
