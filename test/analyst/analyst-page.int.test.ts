/**
 * The analyst's page in a real headless Chromium (Debian's chromium, driven by playwright-core
 * through its executable path): sign in with an acquirer's key, load the queue, filter it, open an
 * alert, confirm it, and see the outcome reach the card's history. A screenshot of each page is
 * kept in test-artifacts/analyst/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveAnalyst } from '../../services/analyst/routes.ts';
import { connectClickHouse, type ClickHouseTarget } from '../../services/core/clickhouse/client.ts';
import { migrate } from '../../services/core/clickhouse/migrations.ts';
import { loadConfig } from '../../services/core/config/config.ts';
import { buildServiceApp, type ServiceApp } from '../../services/core/http/service-app.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createMetrics } from '../../services/core/observability/metrics.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { waitForDrain } from '../../services/pipeline/drain.ts';
import { startPipeline, type RunningPipeline } from '../../services/pipeline/pipeline.ts';
import { connectPlatform, type Platform } from '../../services/pipeline/platform.ts';
import { waitFor } from '../support/wait.ts';

const chromiumPath = '/usr/bin/chromium';
const screenshots = fileURLToPath(new URL('../../test-artifacts/analyst/', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'posguard-analyst-page-'));
const logger = createLogger({ level: 'silent', name: 'analyst-page' });
const keys = { 'acq-eu-01': 'key-of-acquirer-eu-01-0123', 'acq-eu-02': 'key-of-acquirer-eu-02-0123', 'acq-eu-03': 'key-of-acquirer-eu-03-0123' };
const config = loadConfig({ POSGUARD_DATA_DIR: dataDir, POSGUARD_API_KEYS: Object.entries(keys).map(([a, k]) => `${a}:${k}`).join(','), POSGUARD_SINK_FLUSH_MS: '200' });
let clickhouse: ClickHouseTarget;
let platform: Platform;
let pipeline: RunningPipeline;
let app: ServiceApp;
let browser: Browser;
let base: string;

beforeAll(async () => {
  // Debian's package, installed by .ci/run: a missing browser is a failure, not a skip.
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install chromium (.ci/run does)`);
  mkdirSync(screenshots, { recursive: true });
  clickhouse = await connectClickHouse({ clickhouseUrl: undefined, dataDir });
  await migrate(clickhouse.client, { database: 'posguard' });
  platform = await connectPlatform(config, logger);
  pipeline = await startPipeline({ platform, config, logger, metrics: createMetrics({ defaultMetrics: false }), thresholds: defaultThresholds, clickhouse: clickhouse.client });
  await produceStream(generateStream({ ...defaultGeneratorOptions, seed: 43, days: 10, cards: 3000, merchants: 200 }).records, await platform.transport.producer(), platform.serdes);
  await waitForDrain(platform.transport, pipeline);
  const producer = await platform.transport.producer();
  app = buildServiceApp({ service: 'sink', logger, metrics: createMetrics({ defaultMetrics: false }) });
  serveAnalyst(app, { clickhouse: clickhouse.client, database: 'posguard', apiKeys: config.apiKeys, connection: () => ({ producer, serdes: platform.serdes }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // The flags keep Chromium off the network this machine does not have (background services, updates).
  browser = await chromium.launch({
    executablePath: chromiumPath, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await pipeline?.stop();
  await platform?.transport.close();
  await clickhouse?.client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(page: Page, acquirer: keyof typeof keys): Promise<void> {
  await page.goto(`${base}/analyst`);
  await page.fill('#key', keys[acquirer]);
  await page.fill('#actor', 'j.martin');
  await page.click('#sign-in');
}

/** The first acquirer holding a card alert of card-behaviour, and that alert's id. */
async function cardAlert(): Promise<{ acquirer: keyof typeof keys; alertId: string }> {
  const [row] = await (await clickhouse.client.query({
    query: "SELECT acquirerId AS acquirer, alertId FROM posguard.alerts FINAL WHERE detector = 'card-behaviour' AND acquirerId IS NOT NULL ORDER BY score DESC, alertId LIMIT 1", format: 'JSONEachRow',
  })).json<{ acquirer: keyof typeof keys; alertId: string }>();
  return row!;
}

describe('the analyst\'s page in headless Chromium', () => {
  it('loads the queue, filters it, opens an alert, confirms it, and shows the outcome in the card\'s history', async () => {
    const { acquirer, alertId } = await cardAlert();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, acquirer);
    await page.waitForSelector('table tr:nth-child(2)');
    expect(await page.textContent('main')).toMatch(/\d+ alerts, riskiest first/);
    await page.screenshot({ path: join(screenshots, 'queue.png'), fullPage: true });

    await page.selectOption('#filter-detector', 'card-behaviour');
    await page.waitForFunction("location.hash.includes('detector=card-behaviour')");
    // The filtered table replaces the whole queue: every row of it is card-behaviour's (a timeout if the filter is ignored).
    await page.waitForFunction("(() => { const cells = [...document.querySelectorAll('table tr td:nth-child(3)')]; return cells.length > 0 && cells.every((c) => c.textContent === 'card-behaviour'); })()");
    const detectors = await page.$$eval('table tr td:nth-child(3)', (cells) => cells.map((c) => c.textContent));
    expect(detectors.length).toBeGreaterThan(0);
    expect(new Set(detectors)).toEqual(new Set(['card-behaviour']));

    await page.click(`a[href="#/alert/${encodeURIComponent(alertId)}"]`);
    await page.waitForSelector('#state');
    expect(await page.textContent('#state')).toBe('OPEN');
    expect(await page.textContent('.explanation')).toMatch(/purchases within/);
    await page.screenshot({ path: join(screenshots, 'alert.png'), fullPage: true });

    await page.fill('#reason', 'cardholder denies the purchases');
    await page.click('#confirm');
    await page.waitForFunction("document.querySelector('#message')?.textContent === 'CONFIRMED_FRAUD recorded'");
    await waitFor('the alert shown confirmed', async () => {
      await page.goto(`${base}/analyst#/alert/${encodeURIComponent(alertId)}`);
      await page.waitForSelector('#state');
      return (await page.textContent('#state')) === 'CONFIRMED_FRAUD';
    }, 60_000);
    expect(await page.textContent('main')).toContain('cardholder denies the purchases');
    await page.screenshot({ path: join(screenshots, 'alert-confirmed.png'), fullPage: true });

    await page.click('h2 a');
    await waitFor('the confirmed outcome in the card\'s history', async () => {
      await page.waitForSelector('h2');
      const text = await page.textContent('main');
      if (text?.includes('CONFIRMED_FRAUD') === true && text.includes(`Confirmed by j.martin on alert ${alertId}`)) return true;
      await page.reload();
      return false;
    }, 60_000);
    await page.screenshot({ path: join(screenshots, 'card.png'), fullPage: true });

    // A terminal of one of the acquirer's merchants (the card's other terminals may be other acquirers', which it does not see).
    const [terminal] = await (await clickhouse.client.query({
      query: `SELECT terminalId FROM posguard.terminals FINAL WHERE merchantId IN (SELECT merchantId FROM posguard.merchants FINAL WHERE acquirerId = '${acquirer}') ORDER BY terminalId LIMIT 1`,
      format: 'JSONEachRow',
    })).json<{ terminalId: string }>();
    await page.goto(`${base}/analyst#/terminal/${encodeURIComponent(terminal!.terminalId)}`);
    await page.waitForFunction("document.querySelector('h2')?.textContent?.startsWith('Terminal ') === true");
    await page.waitForSelector('table tr:nth-child(2)');
    expect(await page.$$eval('table tr', (rows) => rows.length)).toBeGreaterThan(1);
    await page.screenshot({ path: join(screenshots, 'terminal.png'), fullPage: true });
    await page.close();
  }, 300_000);

  it('shows another acquirer\'s analyst neither the alert nor the card', async () => {
    const { acquirer, alertId } = await cardAlert();
    const other = (Object.keys(keys) as (keyof typeof keys)[]).find((a) => a !== acquirer)!;
    const page = await browser.newPage();
    await signIn(page, other);
    await page.goto(`${base}/analyst#/alert/${encodeURIComponent(alertId)}`);
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).toMatch(/POSGUARD_ERR_ALERT_NOT_FOUND/);
    await page.close();
  }, 60_000);
});
