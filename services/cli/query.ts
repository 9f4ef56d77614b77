import { parseArgs } from 'node:util';
import type { DataFormat } from '@clickhouse/client';
import { connectClickHouse } from '../core/clickhouse/client.ts';
import { loadConfig } from '../core/config/config.ts';
import type { Command } from './main.ts';

const formats = ['PrettyCompactMonoBlock', 'JSONEachRow', 'CSVWithNames', 'TSVWithNames'] as const;

export const queryCommand: Command = {
  summary: 'run SQL against the configured ClickHouse (embedded chDB, or CLICKHOUSE_URL)',
  usage: `usage: posguard query "<sql>" [--format ${formats.join('|')}]\n\n` +
    'Runs one statement against CLICKHOUSE_URL, or the embedded chDB engine under POSGUARD_DATA_DIR.\n' +
    'Example: posguard query "SELECT detector, count() FROM posguard.alerts FINAL GROUP BY detector"',
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { format: { type: 'string', default: 'PrettyCompactMonoBlock' } } });
    const sql = positionals.join(' ').trim();
    if (sql === '') {
      process.stderr.write(`${this.usage}\n`);
      return 2;
    }
    const format = values.format as (typeof formats)[number];
    if (!formats.includes(format)) {
      process.stderr.write(`--format must be one of ${formats.join(', ')}\n`);
      return 2;
    }
    const { client } = await connectClickHouse(loadConfig());
    try {
      // Pretty* are text formats the client passes through untouched; its DataFormat type omits them.
      const result = await client.query({ query: sql, format: format as DataFormat });
      process.stdout.write(await result.text());
      return 0;
    } finally {
      await client.close();
    }
  },
};
