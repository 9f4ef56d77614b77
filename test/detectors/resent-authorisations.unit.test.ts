/**
 * An acquirer that lost an answer resends the request, and the log then holds the authorisation
 * twice (ingest's window of recent ids does not survive a restart, and is per instance). The
 * detectors count it once.
 */
import { describe, expect, it } from 'vitest';
import { spec, type SpecRecord } from './specification.ts';
import { DAY, HOUR, T0, purchase, registry } from './world.ts';

const groceries = (): SpecRecord[] => Array.from({ length: 30 }, (_, i) =>
  purchase({ at: T0 + i * DAY + ((i % 10) - 2) * HOUR, amountMinor: [1200, 1800, 2500, 3400, 4500, 6000, 2200][i % 7]! }));
const threeLargePurchases = (): SpecRecord[] => Array.from({ length: 3 }, (_, i) => purchase({ at: T0 + 31 * DAY + i * HOUR, amountMinor: 40_000 }));

describe('resent authorisations', () => {
  it('count once: three large purchases each sent twice are still three (four would raise a spending burst)', () => {
    const purchases = threeLargePurchases();
    spec().given(...registry(), ...groceries()).when(...purchases.flatMap((p) => [p, p])).thenNothingFrom('card-behaviour');
  });

  it('near miss: a fourth large purchase, with its own id, is a burst', () => {
    const purchases = [...threeLargePurchases(), purchase({ at: T0 + 31 * DAY + 3 * HOUR, amountMinor: 40_000 })];
    const [alert] = spec().given(...registry(), ...groceries()).when(...purchases.flatMap((p) => [p, p])).alerts.filter((a) => a.detector === 'card-behaviour');
    expect(alert!.evidenceEventIds).toHaveLength(4);
  });
});
