/**
 * A card is seen per acquirer: one acquirer's authorisations and outcomes never change what
 * another acquirer's view of the same card token says, and an outcome disputes only its own
 * acquirer's authorisations. An outcome naming no acquirer (a network-wide report) reaches every
 * view, even one that starts after it.
 */
import { describe, expect, it } from 'vitest';
import type { AuthorisationEvent, CardOutcome } from '../../services/core/records.ts';
import { CardStage, type CardStageOutput } from '../../services/detectors/card-stage.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { enrich, ProfileTables } from '../../services/enricher/enrich.ts';
import { spec } from './specification.ts';
import { DAY, MIN, T0, outcome, purchase, registry, tills } from './world.ts';

function cardStage() {
  const tables = new ProfileTables();
  for (const r of registry()) if (r.kind === 'terminal') tables.putTerminal(r.record); else if (r.kind === 'merchant') tables.putMerchant(r.record);
  const stage = new CardStage(defaultThresholds, () => 0);
  const out = (): CardStageOutput => ({ verdicts: [], compromises: [], disputes: [], confirmedFraud: [] });
  const buy = (acquirerId: string, at: number, terminal = tills.paris): AuthorisationEvent => {
    const record = { ...purchase({ card: 'tok-shared', at, terminal }).record, acquirerId };
    stage.authorisation(enrich(tables, record), out());
    return record;
  };
  const report = (o: Partial<CardOutcome>) => {
    const result = out();
    stage.outcome({ ...(outcome({ card: 'tok-shared', at: T0 + 10 * DAY }).record as CardOutcome), ...o }, result);
    return result;
  };
  return { stage, buy, report };
}

describe('a card as each acquirer sees it', () => {
  it('keeps a dispute from one acquirer off another acquirer\'s authorisation with the same card and event id', () => {
    const { buy, report } = cardStage();
    const theirs = buy('acq-a', T0);
    const result = report({ acquirerId: 'acq-b', disputedEventIds: [theirs.eventId] });
    expect(result.disputes).toEqual([]);
    expect(report({ outcomeId: 'o-a', acquirerId: 'acq-a', disputedEventIds: [theirs.eventId] }).disputes.map((d) => d.eventId)).toEqual([theirs.eventId]);
  });

  it('does not let another acquirer\'s report of fraud name this acquirer\'s terminals as where the card was copied', () => {
    const { buy, report } = cardStage();
    for (let day = 0; day < 3; day++) buy('acq-a', T0 + day * DAY);
    expect(report({ acquirerId: 'acq-b' }).compromises).toEqual([]);
    // The acquirer that saw the card is not blinded by the other's report: its own report still names the visits.
    expect(report({ outcomeId: 'o-a', acquirerId: 'acq-a' }).compromises.flatMap((c) => c.visits.map((v) => v.terminalId))).toContain(tills.paris.terminalId);
  });

  it('lets a network-wide report reach every acquirer\'s view, including one that starts after it', () => {
    const { stage, buy, report } = cardStage();
    buy('acq-a', T0);
    const result = report({ acquirerId: null, kind: 'LOST_STOLEN' });
    expect(result.disputes).toEqual([]);
    buy('acq-b', T0 + 11 * DAY);
    expect(stage.size).toBe(2);
  });

  it('raises no cloned-card alert from two acquirers\' authorisations of one token, and one per acquirer with its own', () => {
    const twoAcquirers = spec().given(...registry()).when(
      { ...purchase({ card: 'tok-shared', at: T0 }), record: { ...purchase({ card: 'tok-shared', at: T0 }).record, acquirerId: 'acq-a' } },
      { ...purchase({ card: 'tok-shared', at: T0 + 30 * MIN, terminal: tills.berlin }), record: { ...purchase({ card: 'tok-shared', at: T0 + 30 * MIN, terminal: tills.berlin }).record, acquirerId: 'acq-b' } },
    );
    twoAcquirers.thenNothingFrom('cloned-card');
    const oneAcquirer = spec().given(...registry()).when(purchase({ card: 'tok-shared', at: T0 }), purchase({ card: 'tok-shared', at: T0 + 30 * MIN, terminal: tills.berlin }));
    const [alert] = oneAcquirer.then({ detector: 'cloned-card', subjectId: 'tok-shared' }).filter((a) => a.detector === 'cloned-card');
    expect(alert!.acquirerId).toBe('acq-1');
    expect(alert!.alertId).toContain('acq-1/tok-shared');
  });
});
