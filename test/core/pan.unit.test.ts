/** Finding and masking clear card numbers wherever a careless client might put one. */
import { describe, expect, it } from 'vitest';
import { findClearPan, maskClearPans, maskPansInBytes } from '../../services/core/pan.ts';
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

  it('finds one in every form people paste: any separator used throughout, invisible characters, other digits, UATP, glued to hex', () => {
    const forms: Record<string, string> = {
      dashes: '4111-1111-1111-1111', dots: '4111.1111.1111.1111', underscores: '4111_1111_1111_1111', slashes: '4111/1111/1111/1111',
      noBreakSpaces: '4111\u00a01111\u00a01111\u00a01111', zeroWidthSpaces: '4111\u200b1111\u200b1111\u200b1111',
      newlines: '4111\n1111\n1111\n1111', twoSpaces: '4111  1111  1111  1111', tabs: '4111\t1111\t1111\t1111', enDashes: '4111\u20131111\u20131111\u20131111',
      fullWidthDigits: '４１１１１１１１１１１１１１１１', arabicIndicDigits: '٤١١١١١١١١١١١١١١١', softHyphens: '4111\u00ad1111\u00ad1111\u00ad1111',
      bidiMarks: '\u202e4111111111111111\u202c', uatp: '135410014004955', uatpInId: 'ref-135410014004955', amexGrouped: '3782 822463 10005',
      gluedToHex: 'tok_a4111111111111111', gluedToHexBothSides: 'abc4111111111111111ef', mastercardGluedToHex: 'f5555555555554444',
      nineteenDigitsGrouped: '4111-1111-1111-1111-003', inFreeText: 'customer read out 4111.1111.1111.1111 on the phone',
    };
    for (const [form, value] of Object.entries(forms)) {
      expect(findClearPan({ [form]: value }), form).toBe(form);
      const masked = maskClearPans(value) as string;
      expect(findClearPan({ masked }), `${form} masked: ${masked}`).toBeUndefined();
      expect(masked, form).toMatch(/\*{5,}/);
    }
  });

  it('masks a card number inside bytes of unknown form, text or binary', () => {
    expect(maskPansInBytes(Buffer.from('key-4111111111111111')).toString()).toBe('key-411111******1111');
    const binary = Buffer.concat([Buffer.from([0xff, 0x00, 0x20]), Buffer.from('4111111111111111'), Buffer.from([0xfe])]);
    expect(maskPansInBytes(binary).toString('latin1')).toContain('411111******1111');
    expect(maskPansInBytes(Buffer.from('tok_c485006660019762')).toString()).toBe('tok_c485006660019762');
  });

  it('finds one in an object key, and names the key masked', () => {
    expect(findClearPan({ note: { '4111111111111111': 'x' } })).toBe('note.411111******1111');
    expect(maskClearPans({ 'pan 4111 1111 1111 1111': 1 })).toEqual({ 'pan 411111******1111': 1 });
  });

  it('leaves alone what only looks like digits: timestamps, ids, hex tokens, runs that fail Luhn or start unlike a card number', () => {
    // tok_c485006660019762: a generated hex token whose digit run passes Luhn (it once failed two records in the end-to-end test).
    // Near misses of the shorter schemes' numbers: a 13-digit run starting 1 (a timestamp), a 14-digit one starting 31.
    // Glued to a hex letter, a run counts only at 16-19 digits of a scheme's exact length, in a word shorter than a hash:
    // 17 digits starting 4 is none; the generator's token with 15 digits that pass as Amex is none; a 16-digit run inside an HMAC is chance.
    for (const value of ['tok_4111', '1795258800000', 'acq-eu-01:2026-11-21:000000418', 'm-4111111111111112', 't-9111111111111111', 1795258800000, 'tok_c485006660019762',
      'e-1795258800000', 'ref-31111111111116', 'tok_c41111111111111111', 'tok_371139730032692c', 'hmac_9f3a4111111111111111e0c2d4b6a8f0e2c4a6b8d0f2e4a6c8e0a2',
      '2026-12-07 10:15:00.123', 'Zürich Hauptbahnhof 1', 9007199254740993]) {
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
