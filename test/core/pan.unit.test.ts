/** Finding and masking clear card numbers wherever a careless client might put one. */
import { describe, expect, it } from 'vitest';
import { findClearPan, maskClearPans } from '../../services/core/pan.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';

describe('clear card numbers', () => {
  it('finds one as a whole value, grouped, in free text, as a JSON number, or glued into an id or a note', () => {
    const places: Record<string, unknown> = {
      whole: '4111111111111111', grouped: '4111 1111 1111 1111', text: 'card 4111-1111-1111-1111 declined',
      number: 4111111111111111, id: 'm-4111111111111111', note: 'PAN:4111111111111111', amex: 'ref-378282246310005',
      visa13: 'm-4222222222222', diners14: 't/30569309025904', gluedToLetters: 'tok4111111111111111', gluedBothSides: 'pan4111111111111111x',
      // 19 digits: JSON.parse rounds it, so its Luhn digit is lost; its first digits are still the card's.
      roundedNumber: 4111111111111111111,
    };
    for (const [field, value] of Object.entries(places)) expect(findClearPan({ [field]: value }), field).toBe(field);
  });

  it('finds one in an object key, and names the key masked', () => {
    expect(findClearPan({ note: { '4111111111111111': 'x' } })).toBe('note.411111******1111');
    expect(maskClearPans({ 'pan 4111 1111 1111 1111': 1 })).toEqual({ 'pan 411111******1111': 1 });
  });

  it('leaves alone what only looks like digits: timestamps, ids, hex tokens, runs that fail Luhn or start unlike a card number', () => {
    // tok_c485006660019762: a generated hex token whose digit run passes Luhn (it once failed two records in the end-to-end test).
    // Near misses of the shorter schemes' numbers: a 13-digit run starting 1 (a timestamp), a 14-digit one starting 31.
    for (const value of ['tok_4111', '1795258800000', 'acq-eu-01:2026-11-21:000000418', 'm-4111111111111112', 't-9111111111111111', 1795258800000, 'tok_c485006660019762',
      'e-1795258800000', 'ref-31111111111116', 'abc4111111111111111', 9007199254740993]) {
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
    expect(maskClearPans({ cardToken: 4111111111111111111 })).toEqual({ cardToken: '411111*************' });
  });
});
