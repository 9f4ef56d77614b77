/**
 * The pipeline's topology, declared once: every stage, the consumer group it runs as, the topics it
 * reads and writes, its state, and how its tasks spread their output over partitions. Topic
 * creation, the drain and idle checks, the detectors' watermark routing, the sink's tables, the
 * composition roots and `posguard topology` all read it from here; adding a stage or a topic is an
 * edit here (and, for a topic, its contract in core/codec/topics.ts).
 *
 * Where an event goes next: auth.requests.v1 → enricher → auth.enriched.v1 → card →
 * by-terminal / by-merchant → terminal / merchant → clusters → arbiter; the terminal stage writes
 * fraud.decisions.v1 (one per authorisation); every detector stage writes fraud.alerts.v1, every stage the dead-letter topic, and the sink stores the contract topics.
 * Acquirers write the four input topics; their analysts write fraud.alert-actions.v1 (and card outcomes) through the alert actions API.
 */
import { contractOf, internalTopics, topics, type TopicName } from '../core/codec/topics.ts';

export const stageNames = ['enricher', 'card', 'terminal', 'merchant', 'arbiter', 'sink'] as const;
export type StageName = (typeof stageNames)[number];

/** The process `posguard run <service>` starts; the detectors service runs four stages (or one, with --stage). */
export type ServiceName = 'enricher' | 'detectors' | 'sink';

export interface StageOutput {
  readonly topic: TopicName;
  /**
   * How a task's records land on the topic's partitions: `own` — task p writes partition p only
   * (same key, same partitioner); `keyed` — any partition, by key; `keyed+markers` — by key, plus a
   * watermark marker to every partition, so that the reading stage knows how far each writer is.
   */
  readonly spread: 'own' | 'keyed' | 'keyed+markers';
}

export interface StageDeclaration {
  readonly name: StageName;
  readonly service: ServiceName;
  /** The consumer group; also the prefix of its tasks' transactional ids and of its snapshot topic. */
  readonly group: string;
  /** What the stage does with each record, in an analyst's words. */
  readonly processor: string;
  /** Read in co-partitioned tasks: task p reads partition p of each. */
  readonly inputs: readonly TopicName[];
  /** Read whole by every instance (compacted profile topics kept as tables). */
  readonly tables?: readonly TopicName[];
  readonly outputs: readonly StageOutput[];
  /** What a task keeps between records; absent for a stateless stage. */
  readonly state?: string;
  /** Whether its inputs are released in event-time order (a silent partition must then be marked idle). */
  readonly eventTime: boolean;
  /** Whether outputs and offsets commit in one Kafka transaction per task. */
  readonly transactional: boolean;
  /** For the sink: the ClickHouse table each input topic is stored in. */
  readonly storesIn?: Readonly<Partial<Record<TopicName, string>>>;
}

const deadLetters: StageOutput = { topic: topics.deadLetters, spread: 'keyed' };
const alerts: StageOutput = { topic: topics.fraudAlerts, spread: 'keyed' };

export const topology: readonly StageDeclaration[] = [
  {
    name: 'enricher', service: 'enricher', group: 'posguard.enricher',
    processor: 'checks each authorisation and joins the merchant and terminal profiles in force at its event time',
    inputs: [topics.authorisations], tables: [topics.merchantProfiles, topics.terminalProfiles],
    outputs: [{ topic: topics.enrichedAuthorisations, spread: 'own' }, deadLetters],
    eventTime: false, transactional: true,
  },
  {
    name: 'card', service: 'detectors', group: 'posguard.detectors.card',
    processor: 'keeps each card\'s view (per acquirer) and its outcomes; raises cloned-card, card-testing and card-behaviour alerts; repartitions by terminal and by merchant',
    inputs: [topics.enrichedAuthorisations, topics.cardOutcomes],
    outputs: [{ topic: internalTopics.byTerminal, spread: 'keyed+markers' }, { topic: internalTopics.byMerchant, spread: 'keyed+markers' }, alerts, deadLetters],
    state: 'card views, windows of recent authorisations, outcomes', eventTime: true, transactional: true,
  },
  {
    name: 'terminal', service: 'detectors', group: 'posguard.detectors.terminal',
    processor: 'keeps each terminal\'s windows and confirmed-fraud rate; raises terminal-compromise and card-testing alerts; decides on every authorisation',
    inputs: [internalTopics.byTerminal], outputs: [{ topic: topics.decisions, spread: 'keyed' }, alerts, deadLetters],
    state: 'terminal windows, confirmed fraud per terminal and day', eventTime: true, transactional: true,
  },
  {
    name: 'merchant', service: 'detectors', group: 'posguard.detectors.merchant',
    processor: 'keeps each merchant\'s windows; raises laundering / cash-out alerts; sends cluster candidates to the arbiter',
    inputs: [internalTopics.byMerchant], outputs: [{ topic: internalTopics.clusters, spread: 'keyed+markers' }, alerts, deadLetters],
    state: 'merchant windows', eventTime: true, transactional: true,
  },
  {
    name: 'arbiter', service: 'detectors', group: 'posguard.detectors.arbiter',
    processor: 'sees every merchant\'s cluster candidates; raises the common-point-of-compromise alert',
    inputs: [internalTopics.clusters], outputs: [alerts, deadLetters],
    state: 'cluster candidates', eventTime: true, transactional: true,
  },
  {
    name: 'sink', service: 'sink', group: 'posguard.sink',
    processor: 'stores every contract topic in ClickHouse, idempotently (ReplacingMergeTree by acquirer and id)',
    inputs: [topics.authorisations, topics.merchantProfiles, topics.terminalProfiles, topics.cardOutcomes, topics.enrichedAuthorisations, topics.fraudAlerts, topics.decisions, topics.alertActions, topics.deadLetters],
    outputs: [deadLetters],
    eventTime: false, transactional: false,
    storesIn: {
      [topics.authorisations]: 'auth_events',
      [topics.merchantProfiles]: 'merchants',
      [topics.terminalProfiles]: 'terminals',
      [topics.cardOutcomes]: 'card_outcomes',
      [topics.enrichedAuthorisations]: 'enriched_auths',
      [topics.fraudAlerts]: 'alerts',
      [topics.decisions]: 'decisions',
      [topics.alertActions]: 'alert_actions',
      [topics.deadLetters]: 'dead_letters',
    },
  },
];

/** A stage's declaration. */
export function declared(name: StageName): StageDeclaration {
  return topology.find((s) => s.name === name)!;
}

export const groupOf = (name: StageName): string => declared(name).group;

export const stagesOf = (service: ServiceName): readonly StageDeclaration[] => topology.filter((s) => s.service === service);

/** Each consumer group and the topics it reads. */
export const consumerGroups: Readonly<Record<string, readonly TopicName[]>> =
  Object.fromEntries(topology.map((s) => [s.group, s.inputs]));

/** The stages that write a topic. */
export const writersOf = (topic: string): readonly StageDeclaration[] => topology.filter((s) => s.outputs.some((o) => o.topic === topic));

/** How many partitions a topic has, given the configured count: an internal topic may fix its own. */
export const partitionsOf = (topic: TopicName, partitions: number): number => contractOf(topic)?.internal?.partitions ?? partitions;

/** A stage's tasks: one per partition of its (co-partitioned) inputs. */
export const taskCountOf = (s: StageDeclaration, partitions: number): number => partitionsOf(s.inputs[0]!, partitions);

/**
 * The groups whose output reaches a topic, directly or through other stages (the topic's upstream).
 * A topic no stage writes (straight from acquirers) has none.
 */
export function upstreamGroupsOf(topic: string): readonly string[] {
  const found = new Set<string>();
  const visit = (t: string) => {
    for (const writer of writersOf(t)) {
      if (found.has(writer.group)) continue;
      found.add(writer.group);
      for (const input of writer.inputs) visit(input);
    }
  };
  visit(topic);
  return topology.filter((s) => found.has(s.group)).map((s) => s.group);
}

/**
 * How many transactional producers may write one partition of a topic: each task of a
 * transactional stage has its own, writing every partition (`keyed`) or its own (`own`). On Kafka
 * each transaction ends with a control marker that takes an offset but is never delivered, so up
 * to one marker per such producer can trail a partition's last record.
 */
export function transactionalWritersOf(topic: string, partitions: number): number {
  let writers = 0;
  for (const s of writersOf(topic)) {
    if (!s.transactional) continue;
    const output = s.outputs.find((o) => o.topic === topic)!;
    writers += output.spread === 'own' ? 1 : taskCountOf(s, partitions);
  }
  return writers;
}

/** The writers of a topic whose watermark markers its reader waits for: `<stage>:<task>`. */
export function markerWritersOf(topic: string, partitions: number): readonly string[] {
  return writersOf(topic)
    .filter((s) => s.outputs.some((o) => o.topic === topic && o.spread === 'keyed+markers'))
    .flatMap((s) => Array.from({ length: taskCountOf(s, partitions) }, (_, p) => `${s.name}:${p}`));
}

/** The topics a stage sends watermark markers to, with their partition counts. */
export function markedOutputsOf(name: StageName, partitions: number): readonly { topic: TopicName; partitions: number }[] {
  return declared(name).outputs.filter((o) => o.spread === 'keyed+markers').map((o) => ({ topic: o.topic, partitions: partitionsOf(o.topic, partitions) }));
}

/** The ClickHouse table each topic the sink reads is stored in. */
export const tableOfTopic: Readonly<Record<string, string>> = declared('sink').storesIn as Record<string, string>;
