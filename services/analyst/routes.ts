/**
 * What a fraud analyst works with, over HTTP, served by the process that reads ClickHouse (the sink):
 *   GET  /analyst                      the analyst's page (page/analyst.html)
 *   GET  /v1/alerts                    the alert queue (?detector, severity, state, limit), riskiest first
 *   GET  /v1/alerts/:alertId           an alert: explanation, numbers, evidence, state and history
 *   POST /v1/alerts/:alertId/actions   {actionId, action, actor, assignee?, reason?}
 *   GET  /v1/cards/:cardToken          a card's recent authorisations, decisions and outcomes
 *   GET  /v1/terminals/:terminalId     a terminal's recent days
 * With an acquirer's API key (x-api-key, POSGUARD_API_KEYS): an acquirer sees and acts on its own
 * alerts, cards and terminals only. An accepted action goes to fraud.alert-actions.v1, and a closing action on a card
 * alert also to card.outcomes.v1 (alert-actions.ts), in one send: the sink stores both, the card
 * stage learns from the outcome.
 */
import type { ClickHouseClient } from '../core/clickhouse/client.ts';
import type { Serdes } from '../core/codec/serde.ts';
import { topics } from '../core/codec/topics.ts';
import { isPosguardError, PosguardError } from '../core/errors.ts';
import { KeyChecker, type KeyDigest } from '../core/http/api-keys.ts';
import { problem } from '../core/http/problem.ts';
import type { ServiceApp } from '../core/http/service-app.ts';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AlertActionKind } from '../core/records.ts';
import type { Producer } from '../core/transport/port.ts';
import { actOnAlert, alertActionKinds, stateOf } from './alert-actions.ts';
import { AnalystStore } from './store.ts';

export interface AnalystDeps {
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
const idParams = (name: string) => ({ type: 'object', required: [name], properties: { [name]: { type: 'string', minLength: 1, maxLength: 512 } } });
const alertIdParams = idParams('alertId');
const choice = { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9_-]*$' };
const queueQuery = {
  type: 'object', additionalProperties: false,
  properties: { detector: choice, severity: choice, state: choice, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
};

/** The page, read once: one file, no build step. */
let pageText: string | undefined;
const page = () => (pageText ??= readFileSync(new URL('./page/analyst.html', import.meta.url), 'utf8'));

export function serveAnalyst(app: ServiceApp, deps: AnalystDeps): void {
  const keys = new KeyChecker(() => deps.apiKeys);
  const store = new AnalystStore(deps.clickhouse, deps.database);
  const now = deps.now ?? Date.now;
  const fail = (reply: FastifyReply, error: unknown) => {
    if (!isPosguardError(error)) throw error;
    if (error.details.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.details.retryAfterSeconds));
    return problem(reply, error.code, error.message, error.details.fieldErrors === undefined ? {} : { fieldErrors: error.details.fieldErrors });
  };
  const caller = (request: FastifyRequest) => {
    const check = keys.check(request);
    if (check.kind === 'throttled') {
      throw new PosguardError('POSGUARD_ERR_AUTH_THROTTLED', `too many wrong keys from this address; retry in ${check.retryAfterSeconds} s`, { retryAfterSeconds: check.retryAfterSeconds });
    }
    if (check.kind === 'unknown') throw new PosguardError('POSGUARD_ERR_INGEST_UNAUTHORISED', 'send an acquirer key of POSGUARD_API_KEYS in the x-api-key header');
    return { acquirerId: check.holder, keyHolder: check.holder };
  };

  app.get('/analyst', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page()));

  app.get<{ Querystring: { detector?: string; severity?: string; state?: string; limit?: number } }>('/v1/alerts', { schema: { querystring: queueQuery } }, async (request, reply) => {
    try {
      const who = caller(request);
      const q = request.query;
      return { alerts: await store.queue(who.acquirerId, { detector: q.detector ?? '', severity: q.severity ?? '', state: q.state ?? '', limit: q.limit ?? 100 }) };
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get<{ Params: { alertId: string } }>('/v1/alerts/:alertId', { schema: { params: alertIdParams } }, async (request, reply) => {
    try {
      const who = caller(request);
      const alert = await store.alert(request.params.alertId, who.acquirerId);
      if (alert === undefined || alert.owner !== who.acquirerId) throw new PosguardError('POSGUARD_ERR_ALERT_NOT_FOUND', `no alert with that id among acquirer ${who.acquirerId}'s alerts`);
      const [history, detail] = [await store.history(alert.alertId), await store.alertDetail(alert.alertId)];
      return { ...detail.alert, state: stateOf(history), history, evidence: detail.evidence };
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get<{ Params: { cardToken: string } }>('/v1/cards/:cardToken', { schema: { params: idParams('cardToken') } }, async (request, reply) => {
    try {
      return { cardToken: request.params.cardToken, ...await store.card(caller(request).acquirerId, request.params.cardToken) };
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get<{ Params: { terminalId: string } }>('/v1/terminals/:terminalId', { schema: { params: idParams('terminalId') } }, async (request, reply) => {
    try {
      const who = caller(request);
      const days = await store.terminal(who.acquirerId, request.params.terminalId);
      if (days === undefined) throw new PosguardError('POSGUARD_ERR_ALERT_NOT_FOUND', `no terminal with that id among acquirer ${who.acquirerId}'s terminals`);
      return { terminalId: request.params.terminalId, days };
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.post<{ Params: { alertId: string }; Body: ActionBody }>('/v1/alerts/:alertId/actions', { schema: { params: alertIdParams, body: actionBodySchema } }, async (request, reply) => {
    try {
      const who = caller(request);
      const connection = deps.connection();
      if (connection === undefined) throw new PosguardError('POSGUARD_ERR_ALERT_ACTIONS_UNAVAILABLE', 'not connected to Kafka and the schema registry yet');
      const alert = await store.alert(request.params.alertId, who.acquirerId);
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
