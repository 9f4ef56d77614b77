import { describe, it } from 'vitest';
import type { TerminalProfile } from '../../services/core/records.ts';
import { spec, type SpecRecord } from './specification.ts';
import { HOUR, MIN, T0, purchase, registry, tills } from './world.ts';

const testing = (n: number, options: { declined: number; amountMinor: number; terminal?: TerminalProfile }) =>
  Array.from({ length: n }, (_, i) => purchase({
    card: `tok-tested-${i}`, at: T0 + i * 20_000, terminal: options.terminal ?? tills.mobile, entryMode: 'MANUAL', amountMinor: options.amountMinor,
    responseCode: i < options.declined ? '14' : '00',
  }));

describe('card testing', () => {
  it('CARD_TESTING: 15 different cards in five minutes, mostly declined, for about 1.00', () => {
    spec().given(...registry()).when(...testing(15, { declined: 12, amountMinor: 100 })).then({ detector: 'card-testing', subjectId: 't-mobile', reasonCodes: ['CARD_TESTING'] });
  });

  it('near miss: a busy till with 15 shoppers in five minutes, nearly all approved', () => {
    spec().given(...registry()).when(...testing(15, { declined: 1, amountMinor: 100, terminal: tills.paris })).thenNothingFrom('card-testing');
  });

  it('near miss: many declines, but ordinary amounts', () => {
    spec().given(...registry()).when(...testing(15, { declined: 12, amountMinor: 4000 })).thenNothingFrom('card-testing');
  });
});

describe('terminal compromise', () => {
  const detector = 'terminal-compromise';
  const series = (n: number, make: (i: number) => SpecRecord) => Array.from({ length: n }, (_, i) => make(i));

  it('UNKNOWN_TERMINAL: three authorisations from a terminal id the registry never issued', () => {
    spec().given(...registry()).when(...series(3, (i) => purchase({ card: `tok-${i}`, at: T0 + i * HOUR, terminal: 't-rogue', merchantId: 'm-paris' })))
      .then({ detector, subjectId: 't-rogue', reasonCodes: ['UNKNOWN_TERMINAL'] });
  });

  it('near miss: two are not yet a pattern', () => {
    spec().given(...registry()).when(...series(2, (i) => purchase({ card: `tok-${i}`, at: T0 + i * HOUR, terminal: 't-rogue', merchantId: 'm-paris' }))).thenNothingFrom(detector);
  });

  it('FIRMWARE_MISMATCH: the terminal reports software the registry does not expect', () => {
    spec().given(...registry()).when(...series(3, (i) => purchase({ card: `tok-${i}`, at: T0 + i * HOUR, firmware: 'sha256:tampered' })))
      .then({ detector, subjectId: 't-paris-1', reasonCodes: ['FIRMWARE_MISMATCH'] });
  });

  it('near miss: a firmware update the registry knows about', () => {
    const updated: SpecRecord = { ok: true, kind: 'terminal', record: { ...tills.paris, firmwareHash: 'sha256:v5', updatedAt: T0 - HOUR } };
    spec().given(...registry(), updated).when(...series(3, (i) => purchase({ card: `tok-${i}`, at: T0 + i * HOUR, firmware: 'sha256:v5' }))).thenNothingFrom(detector);
  });

  it('FALLBACK_SURGE: most chip cards read by stripe at one terminal within a day', () => {
    spec().given(...registry()).when(...series(10, (i) => purchase({ card: `tok-${i}`, at: T0 + i * 10 * MIN, entryMode: i < 6 ? 'FALLBACK' : 'CHIP' })))
      .then({ detector, reasonCodes: ['FALLBACK_SURGE'] });
  });

  it('FALLBACK_SURGE at a quiet till: two chip cards a day forced onto the stripe, five within three days', () => {
    spec().given(...registry()).when(...series(5, (i) => purchase({ card: `tok-${i}`, at: T0 + i * 14 * HOUR, entryMode: 'FALLBACK' })))
      .then({ detector, reasonCodes: ['FALLBACK_SURGE'] });
  });

  it('near miss: the same five stripe reads spread over a week', () => {
    spec().given(...registry()).when(...series(5, (i) => purchase({ card: `tok-${i}`, at: T0 + i * 40 * HOUR, entryMode: 'FALLBACK' }))).thenNothingFrom(detector);
  });

  it('near miss: one dirty chip among ten', () => {
    spec().given(...registry()).when(...series(10, (i) => purchase({ card: `tok-${i}`, at: T0 + i * 10 * MIN, entryMode: i < 1 ? 'FALLBACK' : 'CHIP' }))).thenNothingFrom(detector);
  });

  it('MPOS_DISPLACED: a mobile reader used 340 km from its registered address', () => {
    spec().given(...registry()).when(...series(3, (i) => purchase({ card: `tok-${i}`, at: T0 + i * HOUR, terminal: tills.mobile, position: { latitude: 51.05, longitude: 3.72 } })))
      .then({ detector, subjectId: 't-mobile', reasonCodes: ['MPOS_DISPLACED'] });
  });

  it('near miss: a mobile reader across town', () => {
    spec().given(...registry()).when(...series(3, (i) => purchase({ card: `tok-${i}`, at: T0 + i * HOUR, terminal: tills.mobile, position: { latitude: 48.9, longitude: 2.4 } }))).thenNothingFrom(detector);
  });

  it('SECURITY_FAILURES: eight wrong PINs within an hour', () => {
    spec().given(...registry()).when(...series(8, (i) => purchase({ card: `tok-${i}`, at: T0 + i * 5 * MIN, responseCode: '55' }))).then({ detector, reasonCodes: ['SECURITY_FAILURES'] });
  });

  it('near miss: five wrong PINs in an hour', () => {
    spec().given(...registry()).when(...series(5, (i) => purchase({ card: `tok-${i}`, at: T0 + i * 5 * MIN, responseCode: '55' }))).thenNothingFrom(detector);
  });
});
