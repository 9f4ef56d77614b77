import { connectClickHouse } from '../core/clickhouse/client.ts';
import { migrate } from '../core/clickhouse/migrations.ts';
import { loadSettings } from '../pipeline/settings.ts';
import { createLogger } from '../core/observability/logging.ts';
import type { Command } from './main.ts';

export const migrateCommand: Command = {
  summary: 'create or update the ClickHouse database from infra/clickhouse/*.sql (idempotent)',
  usage: 'usage: posguard migrate\n\nApplies infra/clickhouse/*.sql in order to CLICKHOUSE_DATABASE, once each.',
  async run() {
    const config = loadSettings().config;
    const logger = createLogger({ level: config.logLevel, name: 'migrate' });
    const { client, description } = await connectClickHouse(config);
    try {
      const report = await migrate(client, { database: config.clickhouseDatabase, logger });
      process.stdout.write(`${description}: database ${config.clickhouseDatabase}: applied ${report.applied.length}, ` +
        `already applied ${report.alreadyApplied.length}\n`);
      return 0;
    } finally {
      await client.close();
    }
  },
};
