import { describe, expect, it } from 'vitest';
import { topics } from '../../../../services/core/codec/topics.ts';
import type { CardOutcome, DeadLetter } from '../../../../services/core/records.ts';
import { decodeBatch } from '../../../../services/core/service/stage/decode-batch.ts';
import type { ConsumedBatch, ConsumedRecord } from '../../../../services/core/transport/port.ts';
import { harness, input, outcome } from './harness.ts';

describe('decoding a consumed batch', () => {
  it('hands each readable record over, turns the rest into dead letters with a masked key, and passes over what keep refuses', async () => {
    const h = await harness();
    const ctx = await h.context({ inputTopics: [input], stateful: false, task: () => { throw new Error('unused'); } });
    const serde = h.serdes.forTopic<CardOutcome>(input);
    const record = (offset: number, key: string, value: Buffer | null): ConsumedRecord => ({ topic: input, partition: 0, offset, key: Buffer.from(key), value, headers: {}, timestamp: 1 });
    const batch: ConsumedBatch = {
      topic: input, partition: 0, highWatermark: 5, nextOffset: 5,
      records: [
        record(0, 'tok_0', serde.encode(outcome(0))),
        record(1, 'tok_1', serde.encode(outcome(1))),
        record(2, 'tok_2', null),
        record(3, '4111111111111111', Buffer.from('not avro')),
        record(4, 'tok_4', serde.encode(outcome(4))),
      ],
    };
    const taken: string[] = [];
    const dead = await decodeBatch(ctx.deps, batch, (r) => r.offset >= 1, (value, key) => {
      if ((value as CardOutcome).outcomeId === 'o-4') throw new Error('refused by the processor');
      taken.push(`${key}:${(value as CardOutcome).outcomeId}`);
    });
    expect(taken).toEqual(['tok_1:o-1']);
    const letters = dead.map((d) => ({ key: d.key?.toString(), letter: h.serdes.forTopic<DeadLetter>(topics.deadLetters).decode(d.value!) }));
    expect(letters.map((l) => [l.letter.sourceOffset, l.letter.errorCode])).toEqual([
      [2, 'POSGUARD_ERR_CODEC_NOT_AVRO_FRAMED'], [3, expect.stringMatching(/^POSGUARD_ERR_/)], [4, expect.stringMatching(/^POSGUARD_ERR_/)],
    ]);
    expect(letters[1]!.key).not.toContain('4111111111111111');
    expect(letters[1]!.key).toContain('1111');
    const counted = (await h.metrics.get('posguard_dead_letters_total').get()).values.reduce((n, v) => n + v.value, 0);
    expect(counted).toBe(3);
  });
});
