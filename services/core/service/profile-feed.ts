/**
 * Reads the compacted profile topics from the beginning, in log order, and hands on each profile
 * it admits (admitProfile: no clear card number, values that make sense, no change of owner). The
 * enricher keeps its tables with it; HTTP ingest learns who owns each merchant and terminal. Its
 * consumer group is private and never commits: every start reads everything again.
 */
import { randomUUID } from 'node:crypto';
import type { Serdes } from '../codec/serde.ts';
import { topics } from '../codec/topics.ts';
import type { Logger } from '../observability/logging.ts';
import { admitProfile, ProfileOwners, profileKindOf, type ProfileKind } from '../profile-ownership.ts';
import type { MerchantProfile, TerminalProfile } from '../records.ts';
import type { Consumer, Transport } from '../transport/port.ts';

const profileTopics = [topics.merchantProfiles, topics.terminalProfiles] as const;

export class ProfileFeed {
  readonly owners = new ProfileOwners();
  private readonly positions = new Map<string, number>();
  private consumer: Consumer | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly serdes: Serdes,
    private readonly logger: Logger,
    private readonly onProfile: (kind: ProfileKind, profile: MerchantProfile | TerminalProfile) => void = () => {},
  ) {}

  async start(groupPrefix: string): Promise<void> {
    this.consumer = await this.transport.consumer({ groupId: `${groupPrefix}.${randomUUID()}`, topics: profileTopics, fromBeginning: true });
    await this.consumer.run(async (batch) => {
      const serde = this.serdes.forTopic(batch.topic);
      const kind = profileKindOf(batch.topic)!;
      await serde.prepare(batch.records.map((r) => r.value));
      for (const record of batch.records) {
        if (record.value === null) continue; // a tombstone: compaction's delete marker
        try {
          const profile = serde.decode(record.value) as MerchantProfile | TerminalProfile;
          admitProfile(this.owners, kind, batch.topic, profile);
          this.onProfile(kind, profile);
        } catch (error) {
          // The sink dead-letters the same profile for the same reason; one bad profile must not stop the reader.
          this.logger.warn({ topic: batch.topic, offset: record.offset, code: (error as { code?: string }).code, error: (error as Error).message }, 'skipped a profile');
        }
      }
      this.positions.set(`${batch.topic}:${batch.partition}`, batch.nextOffset);
    });
  }

  /** Resolves once every profile produced before this call has been read. */
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
