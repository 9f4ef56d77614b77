/** Finding and masking clear card numbers wherever a careless client might put one. */
import { describe, expect, it } from 'vitest';
import { findClearPan, maskClearPans } from '../../services/core/pan.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';

describe('clear card numbers', () => {
  it('finds one as a whole value, grouped, in free text, as a JSON number, or glued into an id or a note', () => {
    const places: Record<string, unknown> = {
      whole: '4111111111111111', grouped: '4111 1111 1111 1111', text: 'card 4111-1111-1111-1111 declined',
      number: 4111111111111111, id: 'm-4111111111111111', note: 'PAN:4111111111111111', amex: 'ref-378282246310005',
    };
    for (const [field, value] of Object.entries(places)) expect(findClearPan({ [field]: value }), field).toBe(field);
  });

  it('leaves alone what only looks like digits: timestamps, ids, hex tokens, runs that fail Luhn or start unlike a card number', () => {
    // tok_c485006660019762: a generated hex token whose digit run passes Luhn (it once failed two records in the end-to-end test).
    for (const value of ['tok_4111', '1795258800000', 'acq-eu-01:2026-11-21:000000418', 'm-4111111111111112', 't-9111111111111111', 1795258800000, 'tok_c485006660019762']) {
      expect(findClearPan({ value }), String(value)).toBeUndefined();
    }
  });

  it('raises nothing on the default generated stream\'s records (the end-to-end test\'s)', () => {
    const stream = generateStream(defaultGeneratorOptions);
    const flagged = stream.records.flatMap((r) => (r.type === 'malformed' ? [] : [findClearPan(r.record)].filter((p) => p !== undefined)));
    expect(flagged).toEqual([]);
  });

  it('masks a number as its first six and last four digits, in a string', () => {
    expect(maskClearPans({ cardToken: 4111111111111111, merchantId: 'm-4111111111111111' })).toEqual({ cardToken: '411111******1111', merchantId: 'm-411111******1111' });
  });
});
