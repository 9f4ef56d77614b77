/**
 * One way to reach ClickHouse: `@clickhouse/client`, over HTTP when CLICKHOUSE_URL names a server,
 * or over chDB's connection hook (the ClickHouse engine in this process) when it does not. The SQL
 * and the client calls are the same either way.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import type { PosguardConfig } from '../config/config.ts';

export type { ClickHouseClient };

export interface ClickHouseTarget {
  readonly client: ClickHouseClient;
  /** Where the data lives, for logs: the server URL without credentials, or the chDB directory. */
  readonly description: string;
  readonly embedded: boolean;
}

// chDB answers 64-bit integers as JSON numbers; a server quotes them unless told otherwise. One
// setting for both keeps results identical whichever engine answers (posguard's Int64 values —
// epoch milliseconds, minor-unit amounts — are far below 2^53).
const clickhouseSettings = { output_format_json_quote_64bit_integers: 0 } as const;

export async function connectClickHouse(config: Pick<PosguardConfig, 'clickhouseUrl' | 'dataDir'>): Promise<ClickHouseTarget> {
  if (config.clickhouseUrl !== undefined) {
    const url = new URL(config.clickhouseUrl);
    const description = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
    return { client: createClient({ url: config.clickhouseUrl, clickhouse_settings: clickhouseSettings }), description, embedded: false };
  }
  const path = resolve(join(config.dataDir, 'clickhouse'));
  mkdirSync(path, { recursive: true });
  // Loaded only in embedded mode: the native engine is large and a server deployment never needs it.
  const { createChdbConnection } = await import('chdb/connection');
  // chdb types its connection against its own copy of @clickhouse/client-common: same shape, other declaration.
  const connection = createChdbConnection({ path }) as unknown as ClickHouseClientConfigOptions['connection'];
  return { client: createClient({ connection, clickhouse_settings: clickhouseSettings }), description: `chDB at ${path}`, embedded: true };
}
