/**
 * The embedded engine (chDB) locks its data directory: one process at a time may open it. So the
 * process that holds it — a running sink or demo — shares it: it serves read-only SQL on its HTTP
 * port (`POST /v1/sql`) and leaves a note in the data directory saying where. `posguard query`
 * reads the note and asks that process instead of opening the directory itself.
 *
 * Read-only is ClickHouse's own `readonly=1` (no writes, no DDL, no changing settings), so the
 * analyst's SQL cannot touch the data the pipeline writes. chDB applies settings to its session,
 * not to one query, so the analysts get a session of their own on the same engine: `readonly` on
 * the writer's session would stop the writer.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataFormat } from '@clickhouse/client';
import type { ServiceApp } from '../http/service-app.ts';
import type { PosguardConfig } from '../config/config.ts';
import { connectClickHouse, type ClickHouseClient } from './client.ts';

export const queryFormats = ['PrettyCompactMonoBlock', 'JSONEachRow', 'CSVWithNames', 'TSVWithNames'] as const;
export type QueryFormat = (typeof queryFormats)[number];

const noteFile = (dataDir: string) => join(dataDir, 'clickhouse-owner.json');

interface OwnerNote {
  readonly pid: number;
  readonly url: string;
}

/** Runs one read-only statement and returns the result as text. */
export async function readOnlyQuery(client: ClickHouseClient, query: string, format: QueryFormat): Promise<string> {
  // Pretty* are text formats the client passes through untouched; its DataFormat type omits them.
  const result = await client.query({ query, format: format as DataFormat, clickhouse_settings: { readonly: '1' } });
  return result.text();
}

/**
 * Adds `POST /v1/sql` (`{"query": "...", "format": "JSONEachRow"}`) to the app of the process that
 * owns the engine (before it listens), on a session of its own; returns the session's closing.
 */
export async function serveReadOnlySql(app: ServiceApp, config: Pick<PosguardConfig, 'dataDir'>): Promise<() => Promise<void>> {
  const { client } = await connectClickHouse({ clickhouseUrl: undefined, dataDir: config.dataDir });
  app.post<{ Body: { query: string; format?: QueryFormat } }>('/v1/sql', {
    schema: {
      body: {
        type: 'object',
        required: ['query'],
        additionalProperties: false,
        properties: { query: { type: 'string', minLength: 1, maxLength: 100_000 }, format: { type: 'string', enum: [...queryFormats] } },
      },
    },
  }, async (request, reply) => {
    try {
      const text = await readOnlyQuery(client, request.body.query, request.body.format ?? 'PrettyCompactMonoBlock');
      reply.type('text/plain; charset=utf-8');
      return text;
    } catch (error) {
      reply.code(400);
      return { code: 'POSGUARD_ERR_CLICKHOUSE_QUERY_FAILED', message: (error as Error).message };
    }
  });
  return () => client.close();
}

/** Leaves the note for `posguard query`; returns its removal (call it before releasing the engine). */
export function announceEngineOwner(dataDir: string, url: string): () => void {
  const file = noteFile(dataDir);
  const note: OwnerNote = { pid: process.pid, url };
  writeFileSync(file, JSON.stringify(note));
  return () => {
    // Only our own note: a successor may have written its own meanwhile.
    if (readOwner(dataDir)?.pid === process.pid) rmSync(file, { force: true });
  };
}

function readOwner(dataDir: string): OwnerNote | undefined {
  try {
    return JSON.parse(readFileSync(noteFile(dataDir), 'utf8')) as OwnerNote;
  } catch {
    return undefined;
  }
}

/** The SQL address of the live process holding the engine under `dataDir`, if there is one. */
export function engineOwnerUrl(dataDir: string): { pid: number; url: string } | undefined {
  const owner = readOwner(dataDir);
  if (owner === undefined) return undefined;
  try {
    process.kill(owner.pid, 0);
  } catch {
    return undefined; // a note left by a process that died without removing it
  }
  return owner;
}
