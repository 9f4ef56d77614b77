/**
 * The enricher service: auth.requests.v1 → auth.enriched.v1, joining each authorisation with the
 * merchant and terminal profiles in force at its event time (enrich.ts). The profile tables are
 * event-sourced: a private consumer reads the compacted profile topics from the beginning on every
 * start. Before each batch of authorisations the tables catch up with everything produced so far,
 * so a profile written before an authorisation is always applied to it, in both run modes.
 */
import { randomUUID } from 'node:crypto';
import type { Serdes } from '../core/codec/serde.ts';
import { topics } from '../core/codec/topics.ts';
import { summariseFieldErrors, type AuthorisationEvent, type MerchantProfile, type TerminalProfile } from '../core/records.ts';
import type { Logger } from '../core/observability/logging.ts';
import type { Metrics } from '../core/observability/metrics.ts';
import { PosguardError } from '../core/errors.ts';
import { refuseClearPans } from '../core/pan.ts';
import { authorisationErrors } from '../core/semantic-validation.ts';
import { runStage, type RunningStage, type StageProcessor } from '../core/service/stage-runner.ts';
import type { Consumer, Transport } from '../core/transport/port.ts';
import { ProfileTables, enrich } from './enrich.ts';

const profileTopics = [topics.merchantProfiles, topics.terminalProfiles] as const;

export const ENRICHER_GROUP = 'posguard.enricher';

/** The profile tables and the consumer that keeps them current. */
class TableFeed {
  readonly tables = new ProfileTables();
  private readonly positions = new Map<string, number>();
  private consumer: Consumer | undefined;

  constructor(private readonly transport: Transport, private readonly serdes: Serdes, private readonly logger: Logger) {}

  async start(instanceId: string): Promise<void> {
    // Its own group, never committed: every start reads the compacted topics from the beginning.
    this.consumer = await this.transport.consumer({ groupId: `posguard.enricher.tables.${instanceId}.${randomUUID()}`, topics: profileTopics, fromBeginning: true });
    await this.consumer.run(async (batch) => {
      const serde = this.serdes.forTopic(batch.topic);
      await serde.prepare(batch.records.map((r) => r.value));
      for (const record of batch.records) {
        if (record.value === null) continue; // a tombstone: compaction's delete marker
        try {
          if (batch.topic === topics.merchantProfiles) this.tables.putMerchant(serde.decode(record.value) as MerchantProfile);
          else this.tables.putTerminal(serde.decode(record.value) as TerminalProfile);
        } catch (error) {
          // Profiles come from the acquirer's registry feed; one bad profile must not stop enrichment.
          this.logger.warn({ topic: batch.topic, offset: record.offset, error: (error as Error).message }, 'skipped an undecodable profile');
        }
      }
      this.positions.set(`${batch.topic}:${batch.partition}`, batch.nextOffset);
    });
  }

  /** Resolves once every profile produced before this call has been applied. */
  async catchUp(): Promise<void> {
    const targets: [string, number][] = [];
    for (const topic of profileTopics) {
      for (const { partition, offset } of await this.transport.admin.endOffsets(topic)) targets.push([`${topic}:${partition}`, offset]);
    }
    while (targets.some(([key, end]) => (this.positions.get(key) ?? 0) < end)) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export async function runEnricher(deps: {
  transport: Transport; serdes: Serdes; logger: Logger; metrics: Metrics; instanceId: string;
  /** See POSGUARD_EVENT_TIME_MAX_AHEAD_MS; undefined when the input is a recording (no window around the wall clock). */
  eventTimeMaxAheadMs: number | undefined;
}): Promise<RunningStage> {
  const feed = new TableFeed(deps.transport, deps.serdes, deps.logger);
  await feed.start(deps.instanceId);
  const processor: StageProcessor = {
    inputTopics: [topics.authorisations],
    stateful: false,
    beforeBatch: () => feed.catchUp(),
    // Task p writes partition p of auth.enriched.v1 (same key, same partitioner): one writer per partition.
    task() {
      const pending: AuthorisationEvent[] = [];
      return {
        accept(_topic, value) {
          const authorisation = value as AuthorisationEvent;
          refuseClearPans(authorisation, topics.authorisations);
          // Records produced straight to Kafka meet the same rules as HTTP's; a refusal is dead-lettered.
          const fieldErrors = authorisationErrors(authorisation, deps.eventTimeMaxAheadMs === undefined ? {} : { now: Date.now(), maxAheadMs: deps.eventTimeMaxAheadMs });
          if (fieldErrors.length > 0) {
            throw new PosguardError('POSGUARD_ERR_RECORD_INVALID_VALUE',
              `not a meaningful AuthorisationEvent: ${summariseFieldErrors(fieldErrors)}`, { fieldErrors });
          }
          pending.push(authorisation);
        },
        collect(emit) {
          for (const a of pending) emit(topics.enrichedAuthorisations, a.cardToken, enrich(feed.tables, a), a.eventTime);
          pending.length = 0;
        },
      };
    },
  };
  const stage = await runStage({
    service: 'enricher', groupId: ENRICHER_GROUP, transactionalId: ENRICHER_GROUP,
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
