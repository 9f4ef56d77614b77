/**
 * The SQL port of the process holding the embedded engine: authenticated, and every statement on
 * the allow-list's terms. Each escape an attacker tried (and more) must be refused, and leave no
 * file written; every saved query and the demo's suggestions must still run.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { savedQueriesWithExampleParameters } from '../../support/saved-queries.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, type ClickHouseTarget } from '../../../services/core/clickhouse/client.ts';
import { migrate } from '../../../services/core/clickhouse/migrations.ts';
import { announceEngineOwner, engineOwner, serveReadOnlySql, type SqlPort } from '../../../services/core/clickhouse/shared-engine.ts';
import { loadConfig } from '../../../services/core/config/config.ts';
import { buildServiceApp, type ServiceApp } from '../../../services/core/http/service-app.ts';
import { createLogger } from '../../../services/core/observability/logging.ts';
import { createMetrics } from '../../../services/core/observability/metrics.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'posguard-sql-port-'));
const outFile = join(dataDir, 'written-by-an-analyst.txt');
const analystKey = 'analyst-key-0123456789';
let writer: ClickHouseTarget;
let app: ServiceApp;
let port: SqlPort;

const config = loadConfig({
  POSGUARD_DATA_DIR: dataDir, POSGUARD_SQL_API_KEYS: `fraud-team:${analystKey}`,
  POSGUARD_SQL_MAX_EXECUTION_SECONDS: '3', POSGUARD_SQL_MAX_MEMORY_BYTES: String(256 * 1024 * 1024), POSGUARD_SQL_MAX_RESULT_ROWS: '1000',
});

async function sql(query: string, key: string | null = analystKey, address = '127.0.0.1', params?: Record<string, string>) {
  const response = await app.inject({
    method: 'POST', url: '/v1/sql', remoteAddress: address,
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-api-key': key }) },
    payload: { query, format: 'JSONEachRow', ...(params === undefined ? {} : { params }) },
  });
  return { status: response.statusCode, body: response.body, json: () => response.json() as { error: string; message: string } };
}

beforeAll(async () => {
  writer = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
  await migrate(writer.client, { database: 'posguard' });
  await writer.client.command({ query: "INSERT INTO posguard.alerts (alertId, detector, detectorVersion, subjectType, subjectId, severity, score, windowStart, windowEnd, evidenceEventIds, reasonCodes, explanation, detectedAt, emittedAt) VALUES ('a-1', 'cloned-card', '1.1.0', 'CARD', 'tok-1', 'HIGH', 0.9, 0, 1, ['e-1'], ['IMPOSSIBLE_TRAVEL'], 'two places at once', 1, 1)" });
  app = buildServiceApp({ service: 'sink', logger: createLogger({ level: 'silent', name: 'sql-port' }), metrics: createMetrics({ defaultMetrics: false }) });
  port = await serveReadOnlySql(app, config);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await port?.close();
  await writer?.client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the SQL port', () => {
  it('answers 401 without a key or with a wrong one, and reads with a configured key or its own', async () => {
    expect((await sql('SELECT count() AS n FROM posguard.alerts', null)).status).toBe(401);
    expect((await sql('SELECT count() AS n FROM posguard.alerts', 'wrong-key-0123456789')).json().error).toBe('POSGUARD_ERR_SQL_UNAUTHORISED');
    const read = await sql('SELECT count() AS n FROM posguard.alerts FINAL');
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body)).toEqual({ n: 1 });
    expect((await sql('SELECT 1 AS one', port.localKey)).status).toBe(200);
  });

  it('turns an address away for a while once it has presented too many wrong keys, whatever key it sends next', async () => {
    const address = '127.0.0.9';
    for (let i = 0; i < 20; i++) expect((await sql('SELECT 1', `guess-${i}-0123456789`, address)).status).toBe(401);
    const turnedAway = await sql('SELECT 1', analystKey, address);
    expect(turnedAway.status).toBe(429);
    expect(turnedAway.json().error).toBe('POSGUARD_ERR_AUTH_THROTTLED');
    // Another address is not affected.
    expect((await sql('SELECT 1', analystKey, '127.0.0.10')).status).toBe(200);
  });

  it('leaves its key in the owner note, readable by its user only, for posguard query', () => {
    const forget = announceEngineOwner(dataDir, 'http://127.0.0.1:1/v1/sql', port.localKey);
    try {
      expect(engineOwner(dataDir)?.key).toBe(port.localKey);
      expect(statSync(join(dataDir, 'clickhouse-owner.json')).mode & 0o077).toBe(0);
    } finally {
      forget();
    }
  });

  const escapes: Record<string, string> = {
    'the scalar file()': "SELECT file('/proc/self/environ')",
    'file() in capitals': "SELECT FILE('/etc/passwd')",
    'file() quoted': "SELECT `file`('/etc/passwd')",
    'file() in a subquery': "SELECT (SELECT file('/etc/passwd'))",
    'file() after a UNION': "SELECT 1 UNION ALL SELECT file('/etc/passwd')",
    'file() in a CTE': "WITH x AS (SELECT file('/etc/passwd') AS f) SELECT * FROM x",
    'the file table function': "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    'url': "SELECT * FROM url('http://127.0.0.1:1/x', 'CSV', 'a String')",
    's3': "SELECT * FROM s3('http://127.0.0.1:1/bucket/x', 'CSV', 'a String')",
    'remote': "SELECT * FROM remote('127.0.0.1:1', system.one)",
    'remoteSecure': "SELECT * FROM remoteSecure('127.0.0.1:1', system.one)",
    'cluster': "SELECT * FROM clusterAllReplicas('default', system.one)",
    'input': "SELECT * FROM input('a String')",
    'executable': "SELECT * FROM executable('cat /etc/passwd', 'TSV', 'a String')",
    'merge over system': "SELECT * FROM merge('system', '.*')",
    'format with inline data': "SELECT * FROM format(JSONEachRow, '{\"a\":1}')",
    'dictionary table function': "SELECT * FROM dictionary('d')",
    'dictGet': "SELECT dictGet('d', 'a', 1)",
    'joinGet': "SELECT joinGet('j', 'a', 1)",
    'catboostEvaluate': "SELECT catboostEvaluate('/tmp/model.bin', 1)",
    'introspection': 'SELECT addressToLine(1)',
    'server settings': "SELECT getServerSetting('path')",
    'session settings': "SELECT getSetting('readonly')",
    'the current user': 'SELECT currentUser()',
    'the file system': 'SELECT filesystemAvailable()',
    'the host name': 'SELECT hostName()',
    'sleep': 'SELECT sleep(3)',
    'a system table': 'SELECT * FROM system.processes',
    'a system table by IN': 'SELECT 1 WHERE 1 IN system.tables',
    'a system table in a join': 'SELECT * FROM posguard.alerts AS a JOIN system.users AS u ON 1',
    'information schema': 'SELECT * FROM INFORMATION_SCHEMA.TABLES',
    'INTO OUTFILE': `SELECT 1 INTO OUTFILE '${outFile}'`,
    'a FORMAT clause': 'SELECT 1 FORMAT Native',
    'a SETTINGS clause': 'SELECT 1 SETTINGS max_execution_time = 0',
    'two statements': "SELECT 1; SELECT file('/etc/passwd')",
    'an INSERT': "INSERT INTO posguard.alerts (alertId) VALUES ('x')",
    'a DROP': 'DROP TABLE posguard.alerts',
    'SET': 'SET readonly = 0',
    'USE': 'USE system',
    'SYSTEM': 'SYSTEM SHUTDOWN',
  };
  for (const [escape, query] of Object.entries(escapes)) {
    it(`refuses ${escape}`, async () => {
      const answer = await sql(query);
      expect(answer.status, answer.body).toBe(400);
      expect(answer.body).not.toMatch(/root:|PATH=|HOME=|POSGUARD_SQL_API_KEYS/);
    });
  }

  it('wrote no file for any of them, and the table is untouched', async () => {
    expect(existsSync(outFile)).toBe(false);
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.txt'))).toEqual([]);
    expect(JSON.parse((await sql('SELECT count() AS n FROM posguard.alerts FINAL')).body)).toEqual({ n: 1 });
  });

  it('stops a query at the time, memory and result limits', async () => {
    expect((await sql('SELECT count() FROM numbers(100000000000)')).body).toMatch(/Timeout exceeded/);
    expect((await sql('SELECT groupArray(number) FROM numbers(1000000000)')).body).toMatch(/memory limit/i);
    expect((await sql('SELECT number FROM numbers(5000)')).body).toMatch(/Limit for result exceeded/);
  });

  it('runs every saved query and an analyst\'s everyday SQL', async () => {
    const saved = savedQueriesWithExampleParameters();
    expect(saved.length).toBeGreaterThanOrEqual(10);
    for (const { query, params } of saved) {
      const answer = await sql(query.sql, analystKey, '127.0.0.1', params);
      expect(answer.status, `${query.name}: ${answer.body}`).toBe(200);
    }
    for (const query of [
      'SELECT detector, count() AS alerts, countIf(severity = \'HIGH\') AS high, uniqExact(subjectId) AS subjects FROM posguard.alerts FINAL GROUP BY detector',
      "SELECT toStartOfDay(detectedAt) AS day, arrayStringConcat(reasonCodes, ',') AS reasons, quantile(0.9)(score) FROM posguard.alerts GROUP BY day, reasons",
      'SELECT * FROM (SELECT subjectId, row_number() OVER (PARTITION BY detector ORDER BY score DESC) AS rank FROM posguard.alerts) WHERE rank <= 10',
      'SELECT a.alertId, e.eventId FROM posguard.alerts AS a ARRAY JOIN evidenceEventIds AS eventId LEFT JOIN posguard.auth_events AS e USING (eventId)',
      "SELECT arrayMap(x -> upper(x), reasonCodes), if(score > 0.5, 'high', 'low'), formatReadableSize(1024), s::String FROM posguard.alerts, (SELECT 'a' AS s) AS t",
      'SELECT number FROM numbers(10)',
    ]) {
      const answer = await sql(query);
      expect(answer.status, `${query}: ${answer.body}`).toBe(200);
    }
  });
});
