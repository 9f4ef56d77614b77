import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAnalysts, queryFormats, type QueryFormat } from '../core/clickhouse/analyst-sql.ts';
import { engineOwner } from '../core/clickhouse/shared-engine.ts';
import { loadSettings } from '../pipeline/settings.ts';
import { isPosguardError, PosguardError } from '../core/errors.ts';
import { bindParameters, describeSavedQuery, findSavedQuery, loadSavedQueries, parameterArguments } from '../core/clickhouse/saved-queries.ts';
import type { Command } from './main.ts';

export const queryCommand: Command = {
  summary: 'run SQL against the configured ClickHouse (embedded chDB, or CLICKHOUSE_URL)',
  usage: `usage: posguard query "<sql>" [--format ${queryFormats.join('|')}]\n` +
    '       posguard query --saved <name> [--param name=value ...] [--format ...]\n' +
    '       posguard query --list\n\n' +
    'Runs one statement against CLICKHOUSE_URL, or the embedded chDB engine under POSGUARD_DATA_DIR.\n' +
    'While a sink or demo holds the embedded engine, the statement goes to that process, with the key it left in the data directory.\n' +
    'One SELECT over posguard\'s tables, read-only and within POSGUARD_SQL_* limits (docs/SECURITY.md).\n' +
    '--saved runs a saved investigation of infra/clickhouse/queries/; its parameters are sent as ClickHouse query parameters,\n' +
    'never spliced into the SQL. --list shows every saved query with its parameters.\n' +
    'Examples: posguard query "SELECT detector, count() FROM posguard.alerts FINAL GROUP BY detector"\n' +
    '          posguard query --saved merchant-transactions --param merchant=m-000123 --param from=2026-09-01 --param to=2026-09-07 --format CSVWithNames',
  async run(args) {
    const { values, positionals } = parseArgs({
      args, allowPositionals: true,
      options: { format: { type: 'string', default: 'PrettyCompactMonoBlock' }, saved: { type: 'string' }, param: { type: 'string', multiple: true }, list: { type: 'boolean' } },
    });
    if (values.list === true) {
      process.stdout.write(`${loadSavedQueries().map(describeSavedQuery).join('\n\n')}\n`);
      return 0;
    }
    const saved = values.saved === undefined ? undefined : findSavedQuery(values.saved);
    const params = saved === undefined ? {} : bindParameters(saved, parameterArguments(values.param ?? []));
    const sql = saved?.sql ?? positionals.join(' ').trim();
    if (sql === '' || (saved !== undefined && positionals.length > 0) || (saved === undefined && values.param !== undefined)) {
      process.stderr.write(`${this.usage}\n`);
      return 2;
    }
    const format = values.format as QueryFormat;
    if (!queryFormats.includes(format)) {
      process.stderr.write(`--format must be one of ${queryFormats.join(', ')}\n`);
      return 2;
    }
    const config = loadSettings().config;
    const owner = config.clickhouseUrl === undefined ? engineOwner(config.dataDir) : undefined;
    // A note whose pid was reused by another program names an address nothing answers: open the directory then.
    const response = owner === undefined ? undefined
      : await fetch(owner.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': owner.key }, body: JSON.stringify({ query: sql, format, params }) }).catch(() => undefined);
    if (owner !== undefined && response !== undefined) {
      const text = await response.text();
      if (!response.ok) {
        const answer = JSON.parse(text) as { error?: string; message?: string };
        const code = answer.error === 'POSGUARD_ERR_SQL_NOT_ALLOWED' ? answer.error : 'POSGUARD_ERR_CLICKHOUSE_QUERY_FAILED';
        throw new PosguardError(code, answer.message ?? text, { url: owner.url });
      }
      process.stdout.write(text);
      return 0;
    }
    const { analysts, close } = await connectAnalysts(config);
    try {
      process.stdout.write(await analysts.query(sql, format, params).catch((error: Error) => {
        if (isPosguardError(error)) throw error;
        if (/Cannot lock file|already running/i.test(error.message)) {
          throw new PosguardError('POSGUARD_ERR_CLICKHOUSE_ENGINE_BUSY',
            `${resolve(config.dataDir, 'clickhouse')} is held by another process that does not serve SQL (not a posguard sink or demo?): stop it, or point POSGUARD_DATA_DIR elsewhere`,
            { dataDir: config.dataDir });
        }
        throw new PosguardError('POSGUARD_ERR_CLICKHOUSE_QUERY_FAILED', error.message);
      }));
      return 0;
    } finally {
      await close();
    }
  },
};
