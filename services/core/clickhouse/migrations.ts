/**
 * Applies infra/clickhouse/*.sql in file-name order, once each, and records what it applied (name
 * and checksum) in `<database>.schema_migrations`. Running it again applies nothing. Editing a file
 * that was already applied is refused: add a new file instead, as with any migration tool.
 *
 * Files write the database as `${database}` so tests and deployments can pick its name.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PosguardError } from '../errors.ts';
import type { Logger } from '../observability/logging.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ClickHouseClient } from './client.ts';

export const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../infra/clickhouse');

export interface MigrationOptions {
  readonly database: string;
  readonly dir?: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly alreadyApplied: readonly string[];
}

/** Splits a file into statements at semicolons that end a line (DDL here has none inside strings). */
function statementsOf(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement.length > 0);
}

export async function migrate(client: ClickHouseClient, options: MigrationOptions): Promise<MigrationReport> {
  const { database } = options;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new Error(`not a plain database name: ${database}`);
  const dir = options.dir ?? migrationsDir;

  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations (name String, checksum String, appliedAt DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY name`,
  });
  const rows = await (await client.query({ query: `SELECT name, checksum FROM ${database}.schema_migrations`, format: 'JSONEachRow' }))
    .json<{ name: string; checksum: string }>();
  const appliedChecksums = new Map(rows.map((r) => [r.name, r.checksum]));

  const applied: string[] = [];
  const alreadyApplied: string[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const sql = readFileSync(join(dir, name), 'utf8');
    const checksum = createHash('sha256').update(sql).digest('hex');
    const recorded = appliedChecksums.get(name);
    if (recorded === checksum) {
      alreadyApplied.push(name);
      continue;
    }
    if (recorded !== undefined) {
      throw new PosguardError('POSGUARD_ERR_CLICKHOUSE_MIGRATION_CHANGED',
        `migration ${name} was applied to ${database} with a different content; add a new migration instead of editing it`, { name, database });
    }
    for (const statement of statementsOf(sql.replaceAll('${database}', database))) {
      try {
        await client.command({ query: statement });
      } catch (error) {
        throw new PosguardError('POSGUARD_ERR_CLICKHOUSE_MIGRATION_FAILED',
          `migration ${name} failed: ${(error as Error).message}\n${statement.slice(0, 300)}`, { name, database }, { cause: error });
      }
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ name, checksum, appliedAt: Date.now() }],
      format: 'JSONEachRow',
    });
    options.logger?.info({ migration: name, database }, 'applied ClickHouse migration');
    options.metrics?.get('posguard_clickhouse_migrations_applied_total').inc();
    applied.push(name);
  }
  return { applied, alreadyApplied };
}
