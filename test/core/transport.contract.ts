/**
 * The transport contract: what every adapter of the transport port must do, run unchanged against
 * the in-process log (in-process-transport.unit.test.ts) and real Kafka (kafka-transport.int.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumedRecord, Consumer, OutgoingRecord, Transport } from '../../services/core/transport/port.ts';
import { waitFor } from '../support/wait.ts';

const record = (key: string, value: string): OutgoingRecord => ({ key: Buffer.from(key), value: Buffer.from(value) });
const text = (b: Buffer | null) => (b === null ? null : b.toString());

export function describeTransportContract(adapter: string, makeTransport: () => Promise<Transport>): void {
  describe(`transport contract: ${adapter}`, () => {
    let transport: Transport;
    const created: string[] = [];
    const consumers: Consumer[] = [];

    async function freshTopic(partitions: number): Promise<string> {
      const topic = `contract-${randomUUID()}`;
      await transport.admin.createTopics([{ topic, partitions }]);
      created.push(topic);
      return topic;
    }

    async function consumer(groupId: string, topic: string): Promise<Consumer> {
      const c = await transport.consumer({ groupId, topics: [topic], fromBeginning: true });
      consumers.push(c);
      return c;
    }

    /** Runs a consumer that records what it sees and commits after every batch. */
    async function collecting(c: Consumer, commit = true): Promise<ConsumedRecord[]> {
      const seen: ConsumedRecord[] = [];
      await c.run(async (batch) => {
        seen.push(...batch.records);
        if (commit) await c.commit([{ topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }]);
      });
      return seen;
    }

    beforeAll(async () => {
      transport = await makeTransport();
    });

    afterAll(async () => {
      await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
      await transport.admin.deleteTopics(created).catch(() => undefined);
      await transport.close();
    });

    it('creates topics idempotently and lists them', async () => {
      const topic = await freshTopic(3);
      await transport.admin.createTopics([{ topic, partitions: 3 }]);
      expect(await transport.admin.listTopics()).toContain(topic);
      expect((await transport.admin.endOffsets(topic)).map((p) => p.offset)).toEqual([0, 0, 0]);
    });

    it('refuses a record larger than its topic accepts, for good, and appends nothing of the request', async () => {
      const topic = `contract-${randomUUID()}`;
      await transport.admin.createTopics([{ topic, partitions: 1, config: { 'max.message.bytes': '4096' } }]);
      created.push(topic);
      const producer = await transport.producer();
      await producer.send([{ topic, records: [record('small', 'x'.repeat(1000))] }]);
      const refusal = await producer.send([{ topic, records: [record('large', 'x'.repeat(20_000))] }]).then(() => undefined, (error: unknown) => error);
      expect(refusal).toMatchObject({ code: 'POSGUARD_ERR_TRANSPORT_RECORD_TOO_LARGE', retriable: false });
      expect((await transport.admin.endOffsets(topic)).map((p) => p.offset)).toEqual([1]);
      await producer.disconnect();
    });

    it('keeps the order of records per key and routes a key to one partition', async () => {
      const topic = await freshTopic(3);
      const producer = await transport.producer();
      const keys = ['card-a', 'card-b', 'card-c', 'card-d', 'card-e'];
      for (let round = 0; round < 5; round++) {
        await producer.send([{ topic, records: keys.flatMap((k) => Array.from({ length: 10 }, (_, i) => record(k, String(round * 10 + i)))) }]);
      }
      await producer.disconnect();

      const seen = await collecting(await consumer(`group-${randomUUID()}`, topic));
      await waitFor('all 250 records', () => seen.length >= 250);

      expect(seen).toHaveLength(250);
      for (const key of keys) {
        const ofKey = seen.filter((r) => text(r.key) === key);
        expect(new Set(ofKey.map((r) => r.partition)).size).toBe(1);
        expect(ofKey.map((r) => Number(text(r.value)))).toEqual(Array.from({ length: 50 }, (_, i) => i));
      }
    });

    it('spreads partitions over two consumers of one group and delivers every record after the rebalance', async () => {
      const topic = await freshTopic(4);
      const groupId = `group-${randomUUID()}`;
      const producer = await transport.producer();
      const wave = (from: number) => Array.from({ length: 100 }, (_, i) => record(`key-${(from + i) % 37}`, String(from + i)));
      await producer.send([{ topic, records: wave(0) }]);

      const first = await consumer(groupId, topic);
      const seenByFirst = await collecting(first);
      await waitFor('first consumer to own all 4 partitions', () => first.assignment().flatMap((a) => a.partitions).length === 4);

      const second = await consumer(groupId, topic);
      const seenBySecond = await collecting(second);
      await waitFor('both consumers to own partitions', () => {
        const a = first.assignment().flatMap((x) => x.partitions);
        const b = second.assignment().flatMap((x) => x.partitions);
        return a.length > 0 && b.length > 0 && a.length + b.length === 4;
      }, 60_000);
      const firstOwns = first.assignment().flatMap((x) => x.partitions);
      const secondOwns = second.assignment().flatMap((x) => x.partitions);
      expect([...firstOwns, ...secondOwns].sort()).toEqual([0, 1, 2, 3]);

      await producer.send([{ topic, records: wave(100) }]);
      await producer.disconnect();
      const values = () => new Set([...seenByFirst, ...seenBySecond].map((r) => text(r.value)));
      await waitFor('all 200 records across the group', () => values().size === 200, 60_000);

      // After the rebalance each member reads only its own partitions.
      const secondWave = (seen: ConsumedRecord[]) => seen.filter((r) => Number(text(r.value)) >= 100);
      expect(secondWave(seenByFirst).every((r) => firstOwns.includes(r.partition))).toBe(true);
      expect(secondWave(seenBySecond).every((r) => secondOwns.includes(r.partition))).toBe(true);
      expect(secondWave(seenBySecond).length).toBeGreaterThan(0);
    });

    it('assigns partition p of every topic a group reads to the same member (a stage task stays whole)', async () => {
      const [left, right] = [await freshTopic(3), await freshTopic(3)];
      const groupId = `group-${randomUUID()}`;
      const members = [0, 1].map(() => transport.consumer({ groupId, topics: [left, right], fromBeginning: true }));
      const [first, second] = await Promise.all(members);
      consumers.push(first!, second!);
      await Promise.all([first!, second!].map((c) => collecting(c)));
      const owned = (c: Consumer, topic: string) => c.assignment().find((a) => a.topic === topic)?.partitions.slice().sort() ?? [];
      // Each member learns the new assignment on its own: until both have, the first may still hold all three.
      const settled = () => [first!, second!].every((c) => owned(c, left).length > 0 && owned(c, right).length > 0)
        && new Set([...owned(first!, left), ...owned(second!, left)]).size === owned(first!, left).length + owned(second!, left).length;
      await waitFor('both members to own partitions of both topics, none owned twice', settled, 60_000);
      for (const c of [first!, second!]) expect(owned(c, left)).toEqual(owned(c, right));
      expect([...owned(first!, left), ...owned(second!, left)].sort()).toEqual([0, 1, 2]);
    });

    it('writes a record to the partition it names, and reports a partition read past its transaction marker', async () => {
      const topic = await freshTopic(3);
      const producer = await transport.transactionalProducer(`tx-${randomUUID()}`);
      const tx = await producer.transaction();
      await tx.send([{ topic, records: [{ ...record('same-key', 'to-2'), partition: 2 }, { ...record('same-key', 'to-0'), partition: 0 }] }]);
      await tx.commit();
      await producer.disconnect();
      const c = await consumer(`group-${randomUUID()}`, topic);
      const seen = await collecting(c, false);
      await waitFor('both records', () => seen.length >= 2);
      expect(seen.map((r) => [r.partition, text(r.value)]).sort()).toEqual([[0, 'to-0'], [2, 'to-2']]);
      // Kafka's commit marker takes an offset after each record; a reader that has fetched it has read everything.
      const ends = await transport.admin.endOffsets(topic);
      await waitFor('the partitions read to their end', () => [0, 2].every((p) => (c.readThrough(topic, p) ?? 0) >= ends.find((e) => e.partition === p)!.offset), 30_000);
      expect(c.readThrough(topic, 1)).toBeUndefined();
    });

    it('redelivers what a crashed consumer processed but did not commit (at-least-once)', async () => {
      const topic = await freshTopic(1);
      const groupId = `group-${randomUUID()}`;
      const producer = await transport.producer();
      await producer.send([{ topic, records: Array.from({ length: 20 }, (_, i) => record('k', String(i))) }]);
      await producer.disconnect();

      const crashing = await consumer(groupId, topic);
      const seenBeforeCrash = await collecting(crashing, false);
      await waitFor('the first consumer to read all 20', () => seenBeforeCrash.length >= 20);
      await crashing.commit([{ topic, partition: 0, offset: 10 }]);
      await crashing.disconnect();

      const successor = await consumer(groupId, topic);
      const seenAfter = await collecting(successor);
      await waitFor('the successor to read from the committed offset', () => seenAfter.length >= 10);
      expect(seenAfter.map((r) => text(r.value))).toEqual(Array.from({ length: 10 }, (_, i) => String(10 + i)));
      expect(seenAfter[0]!.offset).toBe(10);
    });

    it('delivers a batch again after its handler threw, even an error that calls itself final', async () => {
      const topic = await freshTopic(1);
      const producer = await transport.producer();
      await producer.send([{ topic, records: Array.from({ length: 3 }, (_, i) => record('k', String(i))) }]);
      await producer.disconnect();
      const c = await consumer(`group-${randomUUID()}`, topic);
      let attempts = 0;
      const seen: ConsumedRecord[] = [];
      await c.run(async (batch) => {
        // What a transactional producer's state error or a non-retriable PosguardError looks like to kafkajs.
        if (++attempts === 1) throw Object.assign(new Error('a failure marked not retriable'), { retriable: false });
        seen.push(...batch.records);
      });
      await waitFor('the batch delivered again', () => seen.length >= 3, 60_000);
      expect(seen.map((r) => text(r.value))).toEqual(['0', '1', '2']);
      expect(c.joined()).toBe(true);
    });

    it('hides an aborted transaction from a read_committed consumer and shows a committed one', async () => {
      const topic = await freshTopic(1);
      const producer = await transport.transactionalProducer(`tx-${randomUUID()}`);
      const aborted = await producer.transaction();
      await aborted.send([{ topic, records: Array.from({ length: 5 }, (_, i) => record('k', `aborted-${i}`)) }]);
      await aborted.abort();
      const committed = await producer.transaction();
      await committed.send([{ topic, records: Array.from({ length: 5 }, (_, i) => record('k', `committed-${i}`)) }]);
      await committed.commit();
      await producer.disconnect();

      const seen = await collecting(await consumer(`group-${randomUUID()}`, topic));
      await waitFor('the committed records', () => seen.length >= 5);
      expect(seen.map((r) => text(r.value))).toEqual(Array.from({ length: 5 }, (_, i) => `committed-${i}`));
    });

    it('commits consumed offsets together with the output of a transaction', async () => {
      const input = await freshTopic(1);
      const output = await freshTopic(1);
      const groupId = `group-${randomUUID()}`;
      const producer = await transport.producer();
      await producer.send([{ topic: input, records: Array.from({ length: 3 }, (_, i) => record('k', String(i))) }]);
      await producer.disconnect();

      const transactional = await transport.transactionalProducer(`tx-${randomUUID()}`);
      const c = await consumer(groupId, input);
      let transformed = 0;
      await c.run(async (batch) => {
        const tx = await transactional.transaction();
        await tx.send([{ topic: output, records: batch.records.map((r) => record('k', `out-${text(r.value)}`)) }]);
        await tx.sendOffsets(groupId, [{ topic: input, partition: batch.partition, offset: batch.nextOffset, metadata: `checkpoint-${batch.nextOffset}` }]);
        await tx.commit();
        transformed += batch.records.length;
      });
      await waitFor('the three records transformed', () => transformed >= 3);
      await transactional.disconnect();

      // The offset metadata travels with the commit: stages keep their checkpoints there.
      expect(await transport.admin.committedOffsets(groupId, input)).toMatchObject([{ partition: 0, offset: 3, metadata: 'checkpoint-3' }]);
      // Read the output rather than its end offset: Kafka's commit marker takes an offset too.
      const out = await collecting(await consumer(`group-${randomUUID()}`, output));
      await waitFor('the transformed records', () => out.length >= 3);
      expect(out.map((r) => text(r.value))).toEqual(['out-0', 'out-1', 'out-2']);
    });
  });
}
