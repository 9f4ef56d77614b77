/**
 * The alert lifecycle over HTTP, served by the process that reads ClickHouse (the sink):
 *   POST /v1/alerts/:alertId/actions   {actionId, action, actor, assignee?, reason?}
 *   GET  /v1/alerts/:alertId           the alert, its state and its history
 * With an acquirer's API key (x-api-key, POSGUARD_API_KEYS): an acquirer sees and acts on its own
 * alerts only. An accepted action goes to fraud.alert-actions.v1, and a closing action on a card
 * alert also to card.outcomes.v1 (alert-actions.ts), in one send: the sink stores both, the card
 * stage learns from the outcome.
 */
import type { ClickHouseClient } from '../core/clickhouse/client.ts';
import type { Serdes } from '../core/codec/serde.ts';
import { topics } from '../core/codec/topics.ts';
import { errorCatalog, isPosguardError, PosguardError } from '../core/errors.ts';
import { KeyChecker, type KeyDigest } from '../core/http/api-keys.ts';
import type { ServiceApp } from '../core/http/service-app.ts';
import type { AlertAction, AlertActionKind, SubjectType } from '../core/records.ts';
import type { Producer } from '../core/transport/port.ts';
import { actOnAlert, alertActionKinds, stateOf, type ActedAlert } from './alert-actions.ts';

export interface AlertActionsDeps {
  readonly clickhouse: ClickHouseClient;
  readonly database: string;
  readonly apiKeys: readonly KeyDigest[];
  /** What actions are written with; undefined until the service is connected. */
  readonly connection: () => { readonly producer: Producer; readonly serdes: Serdes } | undefined;
  readonly now?: () => number;
}

interface ActionBody {
  actionId: string;
  action: AlertActionKind;
  actor: string;
  assignee?: string | null;
  reason?: string | null;
}

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max });
const actionBodySchema = {
  type: 'object',
  required: ['actionId', 'action', 'actor'],
  additionalProperties: false,
  properties: {
    actionId: { ...text(128), pattern: '^[A-Za-z0-9._:-]+$' },
    action: { type: 'string', enum: [...alertActionKinds] },
    actor: text(256),
    assignee: { anyOf: [text(256), { type: 'null' }] },
    reason: { anyOf: [text(2000), { type: 'null' }] },
  },
};
const alertIdParams = { type: 'object', required: ['alertId'], properties: { alertId: { type: 'string', minLength: 1, maxLength: 512 } } };

export function serveAlertActions(app: ServiceApp, deps: AlertActionsDeps): void {
  const keys = new KeyChecker(() => deps.apiKeys);
  const store = new AlertStore(deps.clickhouse, deps.database);
  const now = deps.now ?? Date.now;
  const fail = (reply: { code(status: number): unknown }, error: unknown) => {
    if (!isPosguardError(error)) throw error;
    reply.code(errorCatalog[error.code].status);
    return { error: error.code, message: error.message, ...(error.details?.fieldErrors === undefined ? {} : { fieldErrors: error.details.fieldErrors }) };
  };
  const caller = (request: Parameters<KeyChecker['check']>[0]) => {
    const check = keys.check(request);
    if (check.kind === 'throttled') throw new PosguardError('POSGUARD_ERR_AUTH_THROTTLED', `too many wrong keys from this address; retry in ${check.retryAfterSeconds} s`);
    if (check.kind === 'unknown') throw new PosguardError('POSGUARD_ERR_INGEST_UNAUTHORISED', 'send an acquirer key of POSGUARD_API_KEYS in the x-api-key header');
    return { acquirerId: check.holder, keyHolder: check.holder };
  };

  app.get<{ Params: { alertId: string } }>('/v1/alerts/:alertId', { schema: { params: alertIdParams } }, async (request, reply) => {
    try {
      const who = caller(request);
      const alert = await store.alert(request.params.alertId);
      if (alert === undefined || alert.owner !== who.acquirerId) throw new PosguardError('POSGUARD_ERR_ALERT_NOT_FOUND', `no alert with that id among acquirer ${who.acquirerId}'s alerts`);
      const history = await store.history(alert.alertId);
      return { alertId: alert.alertId, subjectType: alert.subjectType, subjectId: alert.subjectId, state: stateOf(history), history };
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.post<{ Params: { alertId: string }; Body: ActionBody }>('/v1/alerts/:alertId/actions', { schema: { params: alertIdParams, body: actionBodySchema } }, async (request, reply) => {
    try {
      const who = caller(request);
      const connection = deps.connection();
      if (connection === undefined) throw new PosguardError('POSGUARD_ERR_ALERT_ACTIONS_UNAVAILABLE', 'not connected to Kafka and the schema registry yet');
      const alert = await store.alert(request.params.alertId);
      const body = request.body;
      const result = actOnAlert(alert, alert === undefined ? [] : await store.history(alert.alertId),
        { actionId: body.actionId, action: body.action, actor: body.actor, assignee: body.assignee ?? null, reason: body.reason ?? null }, who, now());
      if (result.kind === 'duplicate') return { duplicate: true, action: result.action };
      const { producer, serdes } = connection;
      const encode = (topic: string, key: string, value: unknown, timestamp: number) =>
        ({ topic, records: [{ key: Buffer.from(key), value: serdes.forTopic(topic).encode(value), timestamp }] });
      await producer.send([
        encode(topics.alertActions, result.action.alertId, result.action, result.action.actedAt),
        ...(result.outcome === undefined ? [] : [encode(topics.cardOutcomes, result.outcome.cardToken, result.outcome, result.outcome.reportedAt)]),
      ]);
      reply.code(201);
      return { duplicate: false, action: result.action, outcome: result.outcome ?? null };
    } catch (error) {
      return fail(reply, error);
    }
  });
}

/** Alerts and their actions as ClickHouse holds them (values as query parameters, never spliced). */
class AlertStore {
  constructor(private readonly clickhouse: ClickHouseClient, private readonly database: string) {}

  private async rows<T>(query: string, params: Record<string, string>): Promise<T[]> {
    return (await this.clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
  }

  /** The alert and the acquirer it belongs to: its own (a card's), else its terminal's or merchant's. */
  async alert(alertId: string): Promise<ActedAlert | undefined> {
    const db = this.database;
    const [alert] = await this.rows<{ alertId: string; subjectType: SubjectType; subjectId: string; acquirerId: string | null; evidenceEventIds: string[] }>(
      `SELECT alertId, subjectType, subjectId, acquirerId, evidenceEventIds FROM ${db}.alerts FINAL WHERE alertId = {alertId:String} LIMIT 1`, { alertId });
    if (alert === undefined) return undefined;
    let owner = alert.acquirerId;
    if (owner === null && alert.subjectType !== 'CARD') {
      const merchantOf = alert.subjectType === 'MERCHANT' ? '{subject:String}'
        : `(SELECT any(merchantId) FROM ${db}.terminals FINAL WHERE terminalId = {subject:String})`;
      const [found] = await this.rows<{ owner: string | null }>(
        `SELECT coalesce((SELECT any(acquirerId) FROM ${db}.terminals FINAL WHERE terminalId = {subject:String} AND {type:String} = 'TERMINAL'),
                         (SELECT any(acquirerId) FROM ${db}.merchants FINAL WHERE merchantId = ${merchantOf})) AS owner`,
        { subject: alert.subjectId, type: alert.subjectType });
      owner = found?.owner ?? null;
    }
    return { alertId: alert.alertId, subjectType: alert.subjectType, subjectId: alert.subjectId, owner, evidenceEventIds: alert.evidenceEventIds };
  }

  async history(alertId: string): Promise<AlertAction[]> {
    const rows = await this.rows<Omit<AlertAction, 'actedAt'> & { actedAt: string }>(
      `SELECT actionId, alertId, acquirerId, action, actor, keyHolder, assignee, reason, outcomeId, toUnixTimestamp64Milli(actedAt) AS actedAt
       FROM ${this.database}.alert_actions FINAL WHERE alertId = {alertId:String} ORDER BY actedAt, actionId`, { alertId });
    return rows.map((r) => ({ ...r, actedAt: Number(r.actedAt) }));
  }
}
