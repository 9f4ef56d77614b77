/**
 * The external topic contract (docs/ARCHITECTURE.md): topic name, the record its values hold, and what the key
 * is. Subjects follow the Confluent TopicNameStrategy: `<topic>-value`.
 */
export const topics = {
  authorisations: 'auth.requests.v1',
  merchantProfiles: 'merchant.profiles.v1',
  terminalProfiles: 'terminal.profiles.v1',
  cardOutcomes: 'card.outcomes.v1',
  enrichedAuthorisations: 'auth.enriched.v1',
  fraudAlerts: 'fraud.alerts.v1',
  decisions: 'fraud.decisions.v1',
  alertActions: 'fraud.alert-actions.v1',
  deadLetters: 'posguard.dlq.v1',
} as const;

/** Internal repartition topics of the detectors service (named `posguard.<service>.<purpose>`). */
export const internalTopics = {
  byTerminal: 'posguard.detectors.by-terminal',
  byMerchant: 'posguard.detectors.by-merchant',
  clusters: 'posguard.detectors.clusters',
} as const;

export type TopicName = (typeof topics)[keyof typeof topics] | (typeof internalTopics)[keyof typeof internalTopics];

export interface TopicContract {
  readonly topic: TopicName;
  readonly recordName: string;
  readonly keyDescription: string;
  /** Compacted topics hold the latest value per key (profiles), the rest are append-only logs. */
  readonly compacted: boolean;
  /** Internal topics belong to one service; their partition count may be fixed by design. */
  readonly internal?: { readonly partitions?: number };
}

export const topicContracts: readonly TopicContract[] = [
  { topic: topics.authorisations, recordName: 'AuthorisationEvent', keyDescription: 'cardToken', compacted: false },
  { topic: topics.merchantProfiles, recordName: 'MerchantProfile', keyDescription: 'merchantId', compacted: true },
  { topic: topics.terminalProfiles, recordName: 'TerminalProfile', keyDescription: 'terminalId', compacted: true },
  { topic: topics.cardOutcomes, recordName: 'CardOutcome', keyDescription: 'cardToken', compacted: false },
  { topic: topics.enrichedAuthorisations, recordName: 'EnrichedAuthorisation', keyDescription: 'cardToken', compacted: false },
  { topic: topics.fraudAlerts, recordName: 'FraudAlert', keyDescription: 'subjectId', compacted: false },
  { topic: topics.decisions, recordName: 'Decision', keyDescription: 'cardToken', compacted: false },
  { topic: topics.alertActions, recordName: 'AlertAction', keyDescription: 'alertId', compacted: false },
  { topic: topics.deadLetters, recordName: 'DeadLetter', keyDescription: 'original key', compacted: false },
  { topic: internalTopics.byTerminal, recordName: 'DetectorInput', keyDescription: 'terminalId', compacted: false, internal: {} },
  { topic: internalTopics.byMerchant, recordName: 'DetectorInput', keyDescription: 'merchantId', compacted: false, internal: {} },
  // One partition: the cluster arbiter must see every merchant's candidates to find the common point.
  { topic: internalTopics.clusters, recordName: 'ClusterInput', keyDescription: 'constant', compacted: false, internal: { partitions: 1 } },
];

export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

export function contractOf(topic: string): TopicContract | undefined {
  return topicContracts.find((c) => c.topic === topic);
}
