/**
 * The sink's port: where rows are stored, and who registered each stored profile. ClickHouse is its
 * adapter, over HTTP to a server or in-process (chDB) — the same client either way
 * (core/clickhouse/client.ts); another store is another implementation of this interface.
 */
import type { ClickHouseClient } from '../core/clickhouse/client.ts';
import type { ProfileKind } from '../core/profile-ownership.ts';

export interface RowStore {
  /** Inserts rows into a table; idempotent on the rows' ids (a repeat collapses). */
  insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  /** The acquirer that registered each of these stored profiles (ids not stored, or stored without one, are left out). */
  ownersOf(kind: ProfileKind, ids: readonly string[]): Promise<{ id: string; owner: string }[]>;
}

export function clickHouseStore(clickhouse: ClickHouseClient, database: string): RowStore {
  return {
    async insert(table, rows) {
      await clickhouse.insert({ table: `${database}.${table}`, values: [...rows], format: 'JSONEachRow' });
    },
    async ownersOf(kind, ids) {
      const [table, idColumn] = kind === 'merchant' ? ['merchants', 'merchantId'] : ['terminals', 'terminalId'];
      const result = await clickhouse.query({
        query: `SELECT ${idColumn} AS id, any(acquirerId) AS owner FROM ${database}.${table} WHERE ${idColumn} IN {ids:Array(String)} AND acquirerId IS NOT NULL GROUP BY id`,
        query_params: { ids: [...ids] },
        format: 'JSONEachRow',
      });
      return result.json<{ id: string; owner: string }>();
    },
  };
}
