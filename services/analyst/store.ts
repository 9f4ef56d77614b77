/**
 * What the analyst's routes read from ClickHouse, always as one acquirer: an alert belongs to the
 * acquirer it names (a card alert), else to the acquirer that registered its terminal or merchant.
 * Values are query parameters, never spliced; only the configured database name is.
 */
import type { ClickHouseClient } from '../core/clickhouse/client.ts';
import type { AlertAction, SubjectType } from '../core/records.ts';
import type { ActedAlert } from './alert-actions.ts';

export interface QueueFilter {
  readonly detector: string;
  readonly severity: string;
  readonly state: string;
  readonly limit: number;
}

export class AnalystStore {
  constructor(private readonly clickhouse: ClickHouseClient, private readonly database: string) {}

  private async rows<T>(query: string, params: Record<string, string | number>): Promise<T[]> {
    return (await this.clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();
  }

  /**
   * Whether an alert is `acquirer`'s (a condition over an alert's `subjectType`, `subjectId` and
   * its own acquirer, the column `acquirerColumn`; parameter `acquirer`): the one definition of
   * ownership, for the queue and for a single alert.
   */
  private ownedBy(acquirerColumn: string): string {
    const db = this.database;
    const merchants = `SELECT merchantId FROM ${db}.merchants FINAL WHERE acquirerId = {acquirer:String}`;
    return `(${acquirerColumn} = {acquirer:String}
      OR (subjectType = 'MERCHANT' AND ${acquirerColumn} IS NULL AND subjectId IN (${merchants}))
      OR (subjectType = 'TERMINAL' AND ${acquirerColumn} IS NULL AND subjectId IN (
           SELECT terminalId FROM ${db}.terminals FINAL WHERE acquirerId = {acquirer:String} OR merchantId IN (${merchants}))))`;
  }

  /** The acquirer's alerts, riskiest first, with their lifecycle state. */
  async queue(acquirer: string, filter: QueueFilter): Promise<Record<string, unknown>[]> {
    return this.rows(
      `SELECT alertId, detector, severity, score, subjectType, subjectId, toUnixTimestamp64Milli(detectedAt) AS detectedAt, state, assignee, explanation
       FROM ${this.database}.alert_states
       WHERE ${this.ownedBy('alertAcquirerId')}
         AND ({detector:String} = '' OR detector = {detector:String})
         AND ({severity:String} = '' OR severity = {severity:String})
         AND ({state:String} = '' OR state = {state:String})
       ORDER BY score DESC, detectedAt DESC, alertId
       LIMIT {limit:UInt32}`,
      { acquirer, detector: filter.detector, severity: filter.severity, state: filter.state, limit: filter.limit });
  }

  /** The alert, owned by `acquirer` or by nobody it may see (`owner` null), for the lifecycle. */
  async alert(alertId: string, acquirer: string): Promise<ActedAlert | undefined> {
    const [alert] = await this.rows<{ alertId: string; subjectType: SubjectType; subjectId: string; evidenceEventIds: string[]; owned: number }>(
      `SELECT alertId, subjectType, subjectId, evidenceEventIds, ${this.ownedBy('acquirerId')} AS owned
       FROM ${this.database}.alerts FINAL WHERE alertId = {alertId:String} LIMIT 1`, { alertId, acquirer });
    if (alert === undefined) return undefined;
    return { alertId: alert.alertId, subjectType: alert.subjectType, subjectId: alert.subjectId, owner: alert.owned ? acquirer : null, evidenceEventIds: alert.evidenceEventIds };
  }

  /** What an analyst reads on an alert's page: its explanation, numbers and evidence transactions. */
  async alertDetail(alertId: string): Promise<{ alert: Record<string, unknown> | undefined; evidence: Record<string, unknown>[] }> {
    const db = this.database;
    const [alert] = await this.rows<Record<string, unknown>>(
      `SELECT alertId, detector, detectorVersion, severity, score, subjectType, subjectId, reasonCodes, explanation, measurements,
              toUnixTimestamp64Milli(windowStart) AS windowStart, toUnixTimestamp64Milli(windowEnd) AS windowEnd, toUnixTimestamp64Milli(detectedAt) AS detectedAt
       FROM ${db}.alerts FINAL WHERE alertId = {alertId:String} LIMIT 1`, { alertId });
    const evidence = await this.rows<Record<string, unknown>>(
      `SELECT eventId, toUnixTimestamp64Milli(eventTime) AS eventTime, cardToken, bin, last4, amountMinor, currency, merchantId, terminalId, mcc, entryMode, responseCode
       FROM ${db}.alert_evidence WHERE alertId = {alertId:String} ORDER BY eventTime, eventId LIMIT 200`, { alertId });
    return { alert, evidence };
  }

  async history(alertId: string): Promise<AlertAction[]> {
    const rows = await this.rows<Omit<AlertAction, 'actedAt'> & { actedAt: string }>(
      `SELECT actionId, alertId, acquirerId, action, actor, keyHolder, assignee, reason, outcomeId, toUnixTimestamp64Milli(actedAt) AS actedAt
       FROM ${this.database}.alert_actions FINAL WHERE alertId = {alertId:String} ORDER BY actedAt, actionId`, { alertId });
    return rows.map((r) => ({ ...r, actedAt: Number(r.actedAt) }));
  }

  /** A card as the acquirer saw it: its latest authorisations with their decisions, and the outcomes on it. */
  async card(acquirer: string, cardToken: string): Promise<{ authorisations: Record<string, unknown>[]; outcomes: Record<string, unknown>[] }> {
    const db = this.database;
    const authorisations = await this.rows<Record<string, unknown>>(
      `SELECT a.eventId AS eventId, toUnixTimestamp64Milli(a.eventTime) AS eventTime, a.merchantId AS merchantId, a.terminalId AS terminalId, a.mcc AS mcc,
              a.amountMinor AS amountMinor, a.currency AS currency, a.entryMode AS entryMode, a.responseCode AS responseCode, d.decision AS decision, round(d.score, 4) AS score
       FROM (SELECT * FROM ${db}.auth_events FINAL WHERE acquirerId = {acquirer:String} AND cardToken = {card:String} ORDER BY eventTime DESC LIMIT 100) AS a
       LEFT JOIN (SELECT eventId, decision, score FROM ${db}.decisions FINAL WHERE acquirerId = {acquirer:String} AND cardToken = {card:String}) AS d ON d.eventId = a.eventId
       ORDER BY eventTime DESC, eventId`, { acquirer, card: cardToken });
    const outcomes = await this.rows<Record<string, unknown>>(
      `SELECT outcomeId, kind, fraudRelated, toUnixTimestamp64Milli(reportedAt) AS reportedAt, disputedEventIds, note
       FROM ${db}.card_outcomes FINAL WHERE cardToken = {card:String} AND (acquirerId = {acquirer:String} OR acquirerId IS NULL)
       ORDER BY reportedAt DESC, outcomeId LIMIT 100`, { acquirer, card: cardToken });
    return { authorisations, outcomes };
  }

  /** A terminal's recent days, when it is the acquirer's (registered by it, or under one of its merchants). */
  async terminal(acquirer: string, terminalId: string): Promise<Record<string, unknown>[] | undefined> {
    const db = this.database;
    const [owned] = await this.rows<{ n: string }>(
      `SELECT count() AS n FROM ${db}.terminals FINAL WHERE terminalId = {terminal:String}
         AND (acquirerId = {acquirer:String} OR merchantId IN (SELECT merchantId FROM ${db}.merchants FINAL WHERE acquirerId = {acquirer:String}))`,
      { acquirer, terminal: terminalId });
    if (Number(owned?.n ?? 0) === 0) return undefined;
    return this.rows(
      `SELECT toString(day) AS day, merchantId, authorisations, distinctCards, amountSumMinor, declines, chipCardsReadWithoutChip, firmwareMismatches, cardNotPresentEntries
       FROM ${db}.terminal_daily WHERE terminalId = {terminal:String} ORDER BY day DESC LIMIT 60`, { terminal: terminalId });
  }
}
