/**
 * The decision model learns the weights of the evidence from matured, outcome-labelled
 * authorisations: a piece present in fraud gains weight, one present in genuine authorisations
 * loses it (never below zero), labels count only once mature, and the same stream gives the same
 * weights.
 */
import { describe, expect, it } from 'vitest';
import { evidence } from '../../../services/detectors/decision/evidence.ts';
import { baseLogOdds, confirmedFraud, decided, newOnlineModel, type OnlineModel } from '../../../services/detectors/decision/online-model.ts';
import { defaultThresholds } from '../../../services/detectors/thresholds.ts';

const DAY = 86_400_000;
const piece = (code: string) => evidence.findIndex((p) => p.code === code);
const only = (code: string, value = 1) => evidence.map((_, i) => (i === piece(code) ? value : 0));

/** 400 days of authorisations: every 20th carries `fraudCode` and is fraud; the rest carry `genuineCode` (when given). */
function train(fraudCode: string, genuineCode?: string): OnlineModel {
  const model = newOnlineModel(defaultThresholds);
  for (let i = 0; i < 40_000; i++) {
    const time = i * (DAY / 100);
    const fraud = i % 20 === 0;
    decided(model, defaultThresholds, `e-${i}`, time, fraud ? only(fraudCode) : genuineCode === undefined ? only(fraudCode, 0) : only(genuineCode));
    if (fraud) confirmedFraud(model, `e-${i}`);
  }
  return model;
}

describe('the online decision model', () => {
  it('starts at the settings\' points and the prior fraud rate', () => {
    const model = newOnlineModel(defaultThresholds);
    expect(model.weights[piece('CARD_FRAUD_CONFIRMED')]).toBe(defaultThresholds.decisionCardReportedPoints);
    expect(1 / (1 + Math.exp(-baseLogOdds(model, defaultThresholds)))).toBeCloseTo(defaultThresholds.decisionPriorFraudRate, 6);
  });

  it('gives weight to evidence that comes with fraud and takes it from evidence that comes with genuine authorisations', () => {
    const model = train('CARD_SPENT_FAST', 'TERMINAL_ALERTED');
    expect(model.weights[piece('CARD_SPENT_FAST')]).toBeGreaterThan(defaultThresholds.decisionFastPoints + 1);
    expect(model.weights[piece('TERMINAL_ALERTED')]).toBeLessThan(defaultThresholds.decisionTerminalAlertPoints / 2);
    expect(Math.min(...model.weights)).toBeGreaterThanOrEqual(0);
    expect(model.learnedFraud).toBeGreaterThan(1000);
  });

  it('learns the stream\'s own fraud rate, corrected for the genuine authorisations it did not learn from', () => {
    const model = newOnlineModel(defaultThresholds);
    const nothing = only('CARD_SPENT_FAST', 0);
    for (let i = 0; i < 40_000; i++) {
      decided(model, defaultThresholds, `e-${i}`, i * (DAY / 100), nothing);
      if (i % 20 === 0) confirmedFraud(model, `e-${i}`);
    }
    // One in twenty is fraud here, against 0.2% at the start: the learned rate is of that order, not ten times it.
    const rate = 1 / (1 + Math.exp(-baseLogOdds(model, defaultThresholds)));
    expect(rate).toBeGreaterThan(0.02);
    expect(rate).toBeLessThan(0.1);
  });

  it('learns nothing before an authorisation matures, nor from a report after it matured', () => {
    const model = newOnlineModel(defaultThresholds);
    decided(model, defaultThresholds, 'e-1', 0, only('CARD_SPENT_FAST'));
    confirmedFraud(model, 'e-1');
    decided(model, defaultThresholds, 'e-2', (defaultThresholds.decisionLabelMaturityDays - 1) * DAY, only('CARD_SPENT_FAST'));
    expect(model.learned).toBe(0);
    decided(model, defaultThresholds, 'e-3', defaultThresholds.decisionLabelMaturityDays * DAY, only('CARD_SPENT_FAST'));
    expect(model.learnedFraud).toBe(1);
    confirmedFraud(model, 'e-1');
    decided(model, defaultThresholds, 'e-4', 1000 * DAY, only('CARD_SPENT_FAST'));
    expect(model.learnedFraud).toBe(1);
  });

  it('gives the same weights for the same stream', () => {
    expect(train('CARD_ALERTED', 'CARD_SPENT_FAST').weights).toEqual(train('CARD_ALERTED', 'CARD_SPENT_FAST').weights);
  });
});
