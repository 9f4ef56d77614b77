/**
 * An alert's lifecycle, decided: what an analyst's action on an alert becomes. An alert is OPEN
 * until acted on; ACKNOWLEDGED and ASSIGNED keep it open; CONFIRMED_FRAUD and DISMISSED close it.
 * A closing action on a card alert is also feedback for the detectors: a CardOutcome that disputes
 * the alert's evidence (CONFIRMED_FRAUD) or clears it (FALSE_POSITIVE), so the card stage, the
 * decision model and the points of compromise learn from what the fraud team decided.
 *
 * Pure: the alert, its history and the clock are given. Only the acquirer an alert belongs to may
 * act on it; to any other it does not exist.
 */
import { PosguardError } from '../core/errors.ts';
import { findClearPan } from '../core/pan.ts';
import type { AlertAction, AlertActionKind, CardOutcome, SubjectType } from '../core/records.ts';

export const alertActionKinds: readonly AlertActionKind[] = ['ACKNOWLEDGED', 'ASSIGNED', 'CONFIRMED_FRAUD', 'DISMISSED'];
const closing: ReadonlySet<AlertActionKind> = new Set(['CONFIRMED_FRAUD', 'DISMISSED']);

/** The alert as stored, with whether it belongs to the caller (its own acquirer, or its terminal's or merchant's). */
export interface ActedAlert {
  readonly alertId: string;
  readonly subjectType: SubjectType;
  readonly subjectId: string;
  /** The calling acquirer when the alert is its own; null when it is another's, or nobody's (a terminal no acquirer registered). */
  readonly owner: string | null;
  readonly evidenceEventIds: readonly string[];
}

export interface ActionRequest {
  readonly actionId: string;
  readonly action: AlertActionKind;
  readonly actor: string;
  readonly assignee: string | null;
  readonly reason: string | null;
}

export interface Caller {
  readonly acquirerId: string;
  readonly keyHolder: string;
}

export type ActionResult =
  | { readonly kind: 'accepted'; readonly action: AlertAction; readonly outcome: CardOutcome | undefined }
  | { readonly kind: 'duplicate'; readonly action: AlertAction };

/** The state an alert's history leaves it in. */
export function stateOf(history: readonly AlertAction[]): AlertActionKind | 'OPEN' {
  return inOrder(history).at(-1)?.action ?? 'OPEN';
}

const inOrder = (history: readonly AlertAction[]) =>
  [...history].sort((a, b) => a.actedAt - b.actedAt || (a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0));

export function actOnAlert(alert: ActedAlert | undefined, history: readonly AlertAction[], request: ActionRequest, caller: Caller, now: number): ActionResult {
  if (alert === undefined || alert.owner !== caller.acquirerId) {
    throw new PosguardError('POSGUARD_ERR_ALERT_NOT_FOUND', `no alert with that id among acquirer ${caller.acquirerId}'s alerts`, { acquirerId: caller.acquirerId });
  }
  checkRequest(request);
  const earlier = history.find((a) => a.actionId === request.actionId);
  if (earlier !== undefined) {
    if (earlier.action === request.action && earlier.actor === request.actor && earlier.assignee === request.assignee && earlier.reason === request.reason) {
      return { kind: 'duplicate', action: earlier };
    }
    throw new PosguardError('POSGUARD_ERR_ALERT_ACTION_CONFLICT', `actionId ${request.actionId} was already used for another action (${earlier.action} by ${earlier.actor})`,
      { actionId: request.actionId });
  }
  const state = stateOf(history);
  if (closing.has(state as AlertActionKind)) {
    throw new PosguardError('POSGUARD_ERR_ALERT_CLOSED', `alert ${alert.alertId} is closed (${state}); a closed alert takes no further action`, { alertId: alert.alertId, state });
  }
  const outcome = closing.has(request.action) && alert.subjectType === 'CARD' ? outcomeOf(alert, request, caller, now) : undefined;
  return {
    kind: 'accepted',
    outcome,
    action: {
      actionId: request.actionId, alertId: alert.alertId, acquirerId: caller.acquirerId, action: request.action, actor: request.actor,
      keyHolder: caller.keyHolder, assignee: request.assignee, reason: request.reason, outcomeId: outcome?.outcomeId ?? null, actedAt: now,
    },
  };
}

function checkRequest(request: ActionRequest): void {
  const problems: string[] = [];
  if (request.action === 'ASSIGNED' && (request.assignee ?? '').trim() === '') problems.push('assignee: required to assign');
  if (request.action !== 'ASSIGNED' && request.assignee !== null) problems.push('assignee: only an assignment names one');
  if (request.action === 'DISMISSED' && (request.reason ?? '').trim() === '') problems.push('reason: required to dismiss (why the alert was wrong)');
  const pan = findClearPan({ actor: request.actor, assignee: request.assignee, reason: request.reason, actionId: request.actionId });
  if (pan !== undefined) problems.push(`${pan}: looks like a clear card number; name the card by its token`);
  if (problems.length > 0) {
    throw new PosguardError('POSGUARD_ERR_ALERT_ACTION_INVALID', `the action is not valid: ${problems.join('; ')}`,
      { fieldErrors: problems.map((p) => ({ path: p.slice(0, p.indexOf(':')), message: p.slice(p.indexOf(':') + 2) })) });
  }
}

/** What a closing action on a card alert tells the detectors about its evidence. */
function outcomeOf(alert: ActedAlert, request: ActionRequest, caller: Caller, now: number): CardOutcome {
  const confirmed = request.action === 'CONFIRMED_FRAUD';
  return {
    outcomeId: `alert-action:${request.actionId}`,
    cardToken: alert.subjectId,
    kind: confirmed ? 'CONFIRMED_FRAUD' : 'FALSE_POSITIVE',
    fraudRelated: confirmed,
    reportedAt: now,
    disputedEventIds: [...alert.evidenceEventIds],
    note: `${confirmed ? 'Confirmed' : 'Dismissed'} by ${request.actor} on alert ${alert.alertId}${request.reason === null ? '' : `: ${request.reason}`}`,
    acquirerId: caller.acquirerId,
  };
}
