import { describe, expect, it } from 'vitest';
import { isPosguardError } from '../../services/core/errors.ts';
import type { AlertAction } from '../../services/core/records.ts';
import { actOnAlert, stateOf, type ActedAlert, type ActionRequest } from '../../services/analyst/alert-actions.ts';

const cardAlert: ActedAlert = { alertId: 'card-amount:CARD:acq-a/tok-1:100', subjectType: 'CARD', subjectId: 'tok-1', owner: 'acq-a', evidenceEventIds: ['e-1', 'e-2'] };
const terminalAlert: ActedAlert = { alertId: 'terminal-compromise:TERMINAL:t-1:100', subjectType: 'TERMINAL', subjectId: 't-1', owner: 'acq-a', evidenceEventIds: ['e-3'] };
const analyst = { acquirerId: 'acq-a', keyHolder: 'acq-a' };
const request = (o: Partial<ActionRequest> = {}): ActionRequest => ({ actionId: 'act-1', action: 'ACKNOWLEDGED', actor: 'j.martin', assignee: null, reason: null, ...o });

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isPosguardError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

const accepted = (alert: ActedAlert, history: AlertAction[], r: ActionRequest, at: number) => {
  const result = actOnAlert(alert, history, r, analyst, at);
  if (result.kind !== 'accepted') throw new Error('expected an accepted action');
  return result;
};

describe('alert lifecycle', () => {
  it('is OPEN until acted on, then in the state of its last action', () => {
    const acknowledged = accepted(cardAlert, [], request(), 1_000).action;
    const assigned = accepted(cardAlert, [acknowledged], request({ actionId: 'act-2', action: 'ASSIGNED', assignee: 'k.lee' }), 2_000).action;
    expect(stateOf([])).toBe('OPEN');
    expect(stateOf([assigned, acknowledged])).toBe('ASSIGNED');
    expect(assigned).toEqual({
      actionId: 'act-2', alertId: cardAlert.alertId, acquirerId: 'acq-a', action: 'ASSIGNED', actor: 'j.martin', keyHolder: 'acq-a', assignee: 'k.lee', reason: null, outcomeId: null, actedAt: 2_000,
    });
  });

  it('confirming a card alert disputes its evidence as fraud, for the acquirer that confirmed it', () => {
    const { action, outcome } = accepted(cardAlert, [], request({ action: 'CONFIRMED_FRAUD', reason: 'cardholder denies all four' }), 5_000);
    expect(outcome).toEqual({
      outcomeId: 'alert-action:act-1', cardToken: 'tok-1', kind: 'CONFIRMED_FRAUD', fraudRelated: true, reportedAt: 5_000, disputedEventIds: ['e-1', 'e-2'],
      note: `Confirmed by j.martin on alert ${cardAlert.alertId}: cardholder denies all four`, acquirerId: 'acq-a',
    });
    expect(action.outcomeId).toBe('alert-action:act-1');
  });

  it('dismissing a card alert clears its evidence (FALSE_POSITIVE, not fraud); closing a terminal alert sends no card outcome', () => {
    expect(accepted(cardAlert, [], request({ action: 'DISMISSED', reason: 'holder was travelling' }), 5_000).outcome).toMatchObject({ kind: 'FALSE_POSITIVE', fraudRelated: false, disputedEventIds: ['e-1', 'e-2'] });
    expect(accepted(terminalAlert, [], request({ action: 'CONFIRMED_FRAUD' }), 5_000).outcome).toBeUndefined();
  });

  it('an alert of another acquirer, or of none, is not found', () => {
    expect(refusal(() => actOnAlert(cardAlert, [], request(), { acquirerId: 'acq-b', keyHolder: 'acq-b' }, 1)).code).toBe('POSGUARD_ERR_ALERT_NOT_FOUND');
    expect(refusal(() => actOnAlert({ ...terminalAlert, owner: null }, [], request(), analyst, 1)).code).toBe('POSGUARD_ERR_ALERT_NOT_FOUND');
    expect(refusal(() => actOnAlert(undefined, [], request(), analyst, 1)).code).toBe('POSGUARD_ERR_ALERT_NOT_FOUND');
  });

  it('the same action sent again is one action; its id reused for another is refused', () => {
    const first = accepted(cardAlert, [], request(), 1_000).action;
    expect(actOnAlert(cardAlert, [first], request(), analyst, 9_000)).toEqual({ kind: 'duplicate', action: first });
    expect(refusal(() => actOnAlert(cardAlert, [first], request({ action: 'DISMISSED', reason: 'x' }), analyst, 9_000)).code).toBe('POSGUARD_ERR_ALERT_ACTION_CONFLICT');
  });

  it('a closed alert takes no further action', () => {
    const confirmed = accepted(cardAlert, [], request({ action: 'CONFIRMED_FRAUD' }), 1_000).action;
    expect(refusal(() => actOnAlert(cardAlert, [confirmed], request({ actionId: 'act-2', action: 'DISMISSED', reason: 'second thoughts' }), analyst, 2_000)))
      .toEqual({ code: 'POSGUARD_ERR_ALERT_CLOSED', message: `alert ${cardAlert.alertId} is closed (CONFIRMED_FRAUD); a closed alert takes no further action` });
  });

  it('names what is missing or unsafe: an assignment without assignee, a dismissal without reason, a clear card number', () => {
    expect(refusal(() => actOnAlert(cardAlert, [], request({ action: 'ASSIGNED' }), analyst, 1)).message).toMatch(/assignee: required to assign/);
    expect(refusal(() => actOnAlert(cardAlert, [], request({ action: 'DISMISSED' }), analyst, 1)).message).toMatch(/reason: required to dismiss/);
    expect(refusal(() => actOnAlert(cardAlert, [], request({ reason: 'card 4111 1111 1111 1111 used' }), analyst, 1)))
      .toMatchObject({ code: 'POSGUARD_ERR_ALERT_ACTION_INVALID', message: expect.stringMatching(/reason: looks like a clear card number/) });
  });
});
