/**
 * For a test file of the sink on the embedded platform: the real ClickHouse engine (chDB) in a
 * directory of its own with posguard's tables, and the in-process log, opened before the file's
 * tests and closed after them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { connectClickHouse, type ClickHouseTarget } from '../../services/core/clickhouse/client.ts';
import { migrate } from '../../services/core/clickhouse/migrations.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { createLogger, type Logger } from '../../services/core/observability/logging.ts';
import { connectPlatform, type Platform } from '../../services/pipeline/platform.ts';

export function embeddedSinkWorld(name: string): { readonly logger: Logger; readonly clickhouse: () => ClickHouseTarget; readonly platform: () => Platform } {
  const dataDir = mkdtempSync(join(tmpdir(), `posguard-${name}-`));
  const logger = createLogger({ level: 'silent', name });
  let clickhouse: ClickHouseTarget | undefined;
  let platform: Platform | undefined;
  beforeAll(async () => {
    clickhouse = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
    await migrate(clickhouse.client, { database: 'posguard' });
    platform = await connectPlatform(loadConfig({}), logger);
  });
  afterAll(async () => {
    await platform?.transport.close();
    await clickhouse?.client.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { logger, clickhouse: () => clickhouse!, platform: () => platform! };
}
