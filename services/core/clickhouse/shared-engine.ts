/**
 * The embedded engine (chDB) locks its data directory: one process at a time may open it. So the
 * process that holds it — a running sink or demo — shares it: it serves analysts' SQL on its HTTP
 * port (`POST /v1/sql`) and leaves a note in the data directory saying where, with a key of its
 * own. `posguard query` reads the note and asks that process instead of opening the directory.
 *
 * The port is authenticated: `x-api-key` must be one of POSGUARD_SQL_API_KEYS, or the process's
 * own key from the note (readable by its user only: whoever can read the data directory can read
 * the data anyway). Every statement passes analyst-sql.ts's allow-list and runs under `readonly=1`
 * and the configured limits. chDB applies settings to its session, not to one query, so the
 * analysts get a session of their own on the same engine: `readonly` on the writer's session would
 * stop the writer.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPosguardError } from '../errors.ts';
import { KeyChecker, keyDigest } from '../http/api-keys.ts';
import type { ServiceApp } from '../http/service-app.ts';
import type { PosguardConfig } from '../config/config.ts';
import { connectAnalysts, queryFormats, type QueryFormat } from './analyst-sql.ts';

const noteFile = (dataDir: string) => join(dataDir, 'clickhouse-owner.json');

interface OwnerNote {
  readonly pid: number;
  readonly url: string;
  readonly key: string;
}

export type SqlPortConfig = Pick<PosguardConfig, 'dataDir' | 'clickhouseDatabase' | 'sqlApiKeys' | 'sqlMaxExecutionSeconds' | 'sqlMaxMemoryBytes' | 'sqlMaxResultRows' | 'sqlMaxResultBytes'>;

export interface SqlPort {
  /** The key `posguard query` on this machine uses, written into the owner note. */
  readonly localKey: string;
  close(): Promise<void>;
}

/**
 * Adds `POST /v1/sql` (`{"query": "...", "format": "JSONEachRow", "params": {"name": "value"}}`, header
 * `x-api-key`; `params` fill the statement's ClickHouse query parameters) to the app
 * of the process that owns the engine (before it listens), on a session of its own.
 */
export async function serveReadOnlySql(app: ServiceApp, config: SqlPortConfig): Promise<SqlPort> {
  const { analysts, close } = await connectAnalysts({ ...config, clickhouseUrl: undefined });
  const localKey = randomBytes(32).toString('base64url');
  const keys = [...config.sqlApiKeys, { holder: 'local', sha256: keyDigest(localKey) }];
  const checker = new KeyChecker(() => keys);
  app.post<{ Body: { query: string; format?: QueryFormat; params?: Record<string, string> } }>('/v1/sql', {
    schema: {
      body: {
        type: 'object',
        required: ['query'],
        additionalProperties: false,
        properties: {
          query: { type: 'string', minLength: 1, maxLength: 100_000 },
          format: { type: 'string', enum: [...queryFormats] },
          params: {
            type: 'object', maxProperties: 32,
            propertyNames: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
            additionalProperties: { type: 'string', maxLength: 1000 },
          },
        },
      },
    },
    // The key is checked before the body is even parsed.
    onRequest: async (request, reply) => {
      const caller = checker.check(request);
      if (caller.kind === 'throttled') {
        reply.code(429).header('retry-after', String(caller.retryAfterSeconds));
        return reply.send({ error: 'POSGUARD_ERR_AUTH_THROTTLED', message: `too many wrong keys from this address; retry in ${caller.retryAfterSeconds} s` });
      }
      if (caller.kind === 'unknown') return reply.code(401).send({ error: 'POSGUARD_ERR_SQL_UNAUTHORISED', message: 'send a key of POSGUARD_SQL_API_KEYS in the x-api-key header' });
      return undefined;
    },
  }, async (request, reply) => {
    try {
      const text = await analysts.query(request.body.query, request.body.format ?? 'PrettyCompactMonoBlock', request.body.params);
      reply.type('text/plain; charset=utf-8');
      return text;
    } catch (error) {
      reply.code(400);
      return { error: isPosguardError(error) ? error.code : 'POSGUARD_ERR_CLICKHOUSE_QUERY_FAILED', message: (error as Error).message };
    }
  });
  return { localKey, close };
}

/** Leaves the note for `posguard query`, readable by this user only; returns its removal (call it before releasing the engine). */
export function announceEngineOwner(dataDir: string, url: string, key: string): () => void {
  const file = noteFile(dataDir);
  const note: OwnerNote = { pid: process.pid, url, key };
  rmSync(file, { force: true });
  writeFileSync(file, JSON.stringify(note), { mode: 0o600 });
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

/** The SQL address and key of the live process holding the engine under `dataDir`, if there is one. */
export function engineOwner(dataDir: string): OwnerNote | undefined {
  const owner = readOwner(dataDir);
  if (owner === undefined) return undefined;
  try {
    process.kill(owner.pid, 0);
  } catch {
    return undefined; // a note left by a process that died without removing it
  }
  return owner;
}
