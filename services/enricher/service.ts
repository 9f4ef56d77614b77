/**
 * The enricher service: auth.requests.v1 → auth.enriched.v1, joining each authorisation with the
 * merchant and terminal profiles in force at its event time (enrich.ts). The profile tables are
 * event-sourced: a private consumer reads the compacted profile topics from the beginning on every
 * start (profile-feed.ts), leaving out the profiles it may not use. Before each batch of authorisations the tables catch up with everything produced so far,
 * so a profile written before an authorisation is always applied to it, in both run modes.
 */
import type { Serdes } from '../core/codec/serde.ts';
import { topics } from '../core/codec/topics.ts';
import type { AuthorisationEvent, MerchantProfile, TerminalProfile } from '../core/records.ts';
import type { Logger } from '../core/observability/logging.ts';
import type { Metrics } from '../core/observability/metrics.ts';
import { admitRecord } from '../core/record-admission.ts';
import type { StageProcessor } from '../core/service/stage/processor.ts';
import { runStage, type RunningStage } from '../core/service/stage-runner.ts';
import { ProfileFeed } from '../core/service/profile-feed.ts';
import type { Transport } from '../core/transport/port.ts';
import { declared, groupOf } from '../topology/topology.ts';
import { ProfileTables, enrich } from './enrich.ts';


export async function runEnricher(deps: {
  transport: Transport; serdes: Serdes; logger: Logger; metrics: Metrics; instanceId: string;
  /** See POSGUARD_EVENT_TIME_MAX_AHEAD_MS; undefined when the input is a recording (no window around the wall clock). */
  eventTimeMaxAheadMs: number | undefined;
}): Promise<RunningStage> {
  const tables = new ProfileTables();
  const feed = new ProfileFeed(deps.transport, deps.serdes, deps.logger, (kind, profile) => {
    if (kind === 'merchant') tables.putMerchant(profile as MerchantProfile);
    else tables.putTerminal(profile as TerminalProfile);
  });
  await feed.start(`posguard.enricher.tables.${deps.instanceId}`);
  const processor: StageProcessor = {
    inputTopics: declared('enricher').inputs,
    stateful: false,
    beforeBatch: () => feed.catchUp(),
    // Task p writes partition p of auth.enriched.v1 (same key, same partitioner): one writer per partition.
    task() {
      const pending: AuthorisationEvent[] = [];
      return {
        accept(_topic, value) {
          const authorisation = value as AuthorisationEvent;
          // Records produced straight to Kafka meet the same rules as HTTP's; a refusal is dead-lettered.
          admitRecord('authorisation', authorisation, topics.authorisations,
            deps.eventTimeMaxAheadMs === undefined ? {} : { now: Date.now(), maxAheadMs: deps.eventTimeMaxAheadMs });
          pending.push(authorisation);
        },
        collect(emit) {
          for (const a of pending) emit(topics.enrichedAuthorisations, a.cardToken, enrich(tables, a), a.eventTime);
          pending.length = 0;
        },
      };
    },
  };
  const stage = await runStage({
    service: 'enricher', groupId: groupOf('enricher'), transactionalId: groupOf('enricher'),
    transport: deps.transport, serdes: deps.serdes, logger: deps.logger, metrics: deps.metrics,
  }, processor);
  return {
    ready: stage.ready,
    settled: stage.settled,
    async stop() {
      await stage.stop();
      await feed.stop();
    },
  };
}
