/**
 * README's "Running it distributed", as a user runs it: its four `run` lines launched at the same
 * moment (each in a shell that reports its `$!`, the pid a user would signal), its curl line, its
 * query line while the sink runs, then SIGTERM to each pid. Only what must differ on a shared test
 * machine is changed: the broker and registry addresses, free ports, a private data directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadSchemaCatalog } from '../../services/core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry } from '../../services/core/codec/schema-registry.ts';
import { registerSerdes } from '../../services/core/codec/serde.ts';
import { createLogger } from '../../services/core/observability/logging.ts';
import { produceStream } from '../../services/generator/acquirer.ts';
import { defaultGeneratorOptions, generateStream } from '../../services/generator/stream.ts';
import { asPromQL, metricsOfRules, prometheusQueries } from '../dashboards/dashboards.ts';
import { createKafkaTransport } from '../../services/core/transport/kafka/kafka-transport.ts';
import type { Transport } from '../../services/core/transport/port.ts';
import { claimContractTopics } from '../support/contract-topics.ts';
import { freePort } from '../support/service-process.ts';
import { waitFor } from '../support/wait.ts';

const { kafkaBrokers, schemaRegistryUrl, prometheusUrl, prometheusTargetsDir } = inject('endpoints');
const repo = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'posguard-readme-'));
const shutdownBoundMs = 10_000;

/** The `n`th shell block under "## Running it distributed", one command per line. */
function recipe(n: number): string[] {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  let section = readme.slice(readme.indexOf('## Running it distributed'));
  section = section.slice(0, section.indexOf('\n## ', 5));
  const blocks = section.split('```sh').slice(1).map((b) => b.slice(0, b.indexOf('```')));
  // Joins continued lines, drops comments (a '#' after two spaces) and blank lines.
  return (blocks[n] ?? '').replace(/\\\n\s*/g, '').split('\n').map((l) => l.replace(/\s{2,}#.*$/, '').trim()).filter((l) => l !== '');
}

const lines = recipe(0);
const runLines = lines.filter((l) => / run (ingest|enricher|detectors|sink)\b/.test(l));
/** The block that scales out: more instances of some services. */
const scaleOutLines = recipe(1);
const exampleEventId = (JSON.parse(readFileSync(join(repo, 'schemas/examples/AuthorisationEvent.json'), 'utf8')) as { eventId: string }).eventId;

interface Launched {
  readonly service: string;
  readonly port: number;
  /** The shell that ran the line; it waits for the service and exits with its status. */
  readonly shell: ChildProcess;
  /** What `$!` gave the shell. */
  readonly pid: Promise<number>;
  readonly output: string[];
  readonly exited: Promise<number | string>;
}

const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  KAFKA_BROKERS: kafkaBrokers, SCHEMA_REGISTRY_URL: schemaRegistryUrl, POSGUARD_DATA_DIR: dataDir, LOG_LEVEL: 'info',
  ...(prometheusTargetsDir === undefined ? {} : { POSGUARD_PROMETHEUS_TARGETS_DIR: prometheusTargetsDir }),
};
const launched: Launched[] = [];
const ports = new Map<string, number>();
let kafka: Transport;
let releaseContractTopics = () => {};

/** A README line with its PORT and the ingest port in URLs swapped for free ones. */
const withPorts = (line: string) => line.replace(/PORT=(\d+)/, (_, p: string) => `PORT=${ports.get(p)}`)
  .replace(/127\.0\.0\.1:(\d+)/g, (m, p: string) => (ports.has(p) ? `127.0.0.1:${ports.get(p)}` : m));

/** Runs the line as written (ending in `&`) in a shell that reports `$!` and waits for it. */
function launch(line: string): Launched {
  const service = / run (\w+)/.exec(line)![1]!;
  const port = Number(/PORT=(\d+)/.exec(line)![1]);
  const shell = spawn('bash', ['-c', `${line}\necho "launched-pid=$!"\nwait $!`], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  let reportPid: (pid: number) => void = () => {};
  const pid = new Promise<number>((resolve) => { reportPid = resolve; });
  shell.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    const reported = /launched-pid=(\d+)/.exec(text);
    if (reported !== null) reportPid(Number(reported[1]));
    output.push(text);
  });
  shell.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | string>((resolve) => shell.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { service, port, shell, pid, output, exited };
}

const alive = (l: Launched) => l.shell.exitCode === null && l.shell.signalCode === null;

/** Waits for the service's /readyz to answer 200; fails at once if it exited. */
const ready = (l: Launched) => waitFor(`${l.service} on port ${l.port} ready`, async () => {
  if (!alive(l)) throw new Error(`${l.service} exited ${l.shell.exitCode}:\n${l.output.join('').slice(-3000)}`);
  try {
    return (await fetch(`http://127.0.0.1:${l.port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}, 240_000);

const shell = (line: string) => spawnSync('bash', ['-c', line], { cwd: repo, env, encoding: 'utf8', timeout: 60_000 });

beforeAll(async () => {
  kafka = createKafkaTransport({ brokers: kafkaBrokers.split(','), clientId: 'posguard-readme-test', logger: createLogger({ level: 'error' }) });
  releaseContractTopics = await claimContractTopics(kafka, kafkaBrokers);
  for (const line of [...lines, ...scaleOutLines]) {
    const port = /PORT=(\d+)/.exec(line)?.[1];
    if (port !== undefined) ports.set(port, await freePort());
  }
}, 2_400_000);

afterAll(async () => {
  for (const l of launched) {
    if (!alive(l)) continue;
    try {
      process.kill(await l.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all(launched.map((l) => l.exited));
  await kafka?.close();
  rmSync(dataDir, { recursive: true, force: true });
  releaseContractTopics();
});

describe("README's distributed recipe, as written", () => {
  it('names four services, a curl to ingest and a query', () => {
    expect(runLines.map((l) => / run (\w+)/.exec(l)![1])).toEqual(['ingest', 'enricher', 'detectors', 'sink']);
    expect(lines.some((l) => l.startsWith('curl '))).toBe(true);
    expect(lines.some((l) => / query /.test(l))).toBe(true);
  });

  it('starts the four services launched at the same moment, and each pid is the service itself', async () => {
    launched.push(...runLines.map((l) => launch(withPorts(l))));
    for (const l of launched) {
      await ready(l);
      // The pid the shell got is the service itself, not a wrapper that would swallow signals.
      expect(readFileSync(`/proc/${await l.pid}/cmdline`, 'utf8').split('\0').join(' ')).toMatch(/node .*bin\/posguard\.js run/);
    }
    for (const l of launched) expect(l.output.join('')).not.toMatch(/REGISTRY_INCOMPATIBLE|"level":50/);
  }, 300_000);

  it('scales out with the second block: the new instances join their groups and become ready beside the first', async () => {
    expect(scaleOutLines.map((l) => / run (\w+)/.exec(l)?.[1])).toEqual(['enricher', 'detectors']);
    const added = scaleOutLines.map((l) => launch(withPorts(l)));
    launched.push(...added);
    for (const l of added) {
      await ready(l);
    }
    // Both instances of each stage hold tasks now (the arbiter's second instance stands by).
    const admin = new Kafka({ brokers: kafkaBrokers.split(','), clientId: 'posguard-readme-groups', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const groups = await waitFor('two members in the enricher and card stage groups', async () => {
        const { groups: described } = await admin.describeGroups(['posguard.enricher', 'posguard.detectors.card']);
        return described.every((g) => g.state === 'Stable' && g.members.length === 2) ? described : undefined;
      }, 120_000);
      expect(groups.map((g) => g.members.length)).toEqual([2, 2]);
    } finally {
      await admin.disconnect();
    }
  }, 300_000);

  it('takes the example authorisation over HTTP, and the query line reads it from ClickHouse while the sink runs', async () => {
    const curl = shell(withPorts(lines.find((l) => l.startsWith('curl '))!));
    expect(curl.status, curl.stderr).toBe(0);
    expect(curl.stdout).toMatch(/"accepted":1/);
    const query = withPorts(lines.find((l) => / query /.test(l))!);
    const stored = await waitFor('the example authorisation in ClickHouse', () => {
      const result = shell(query);
      return result.status === 0 && result.stdout.includes(exampleEventId) ? result.stdout : undefined;
    }, 120_000);
    expect(stored).toContain(exampleEventId);
    expect(alive(launched.find((l) => l.service === 'sink')!)).toBe(true);
  }, 180_000);

  it.runIf(prometheusUrl !== undefined && prometheusTargetsDir !== undefined)('is scraped by the stack Prometheus: every service is an up target', async () => {
    await waitFor('Prometheus to scrape all four services', async () => {
      const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent('up{job="posguard"} == 1')}`);
      const body = (await response.json()) as { data: { result: { metric: { instance: string } }[] } };
      const up = new Set(body.data.result.map((r) => r.metric.instance));
      return launched.every((l) => up.has(`127.0.0.1:${l.port}`));
    }, 60_000);
  }, 90_000);

  it.runIf(prometheusUrl !== undefined && prometheusTargetsDir !== undefined)(
    'fed a generated stream, gives every dashboard expression a result and every metric the alerting rules read a series, through Prometheus\'s API', async () => {
      const serdes = await registerSerdes(createConfluentSchemaRegistry(schemaRegistryUrl), loadSchemaCatalog());
      // Three days of a small network: alerts, decisions, and malformed records for the dead-letter topic.
      const stream = generateStream({ ...defaultGeneratorOptions, seed: 31, days: 3, cards: 400, merchants: 40 });
      const producer = await kafka.producer();
      await produceStream(stream.records, producer, serdes);
      await producer.disconnect();
      const query = async (expr: string) => {
        const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
        expect(body.error, expr).toBeUndefined();
        return body.data!.result;
      };
      await waitFor('alerts and decisions scraped', async () =>
        (await query('sum(posguard_alerts_total{job="posguard"})')).length > 0 && (await query('sum(posguard_decisions_total{job="posguard"})')).length > 0, 180_000);
      // Two scrapes after the first alert, so that every rate over a minute has its two samples.
      await new Promise((r) => setTimeout(r, 6_000));
      const empty: string[] = [];
      for (const { where, expr } of prometheusQueries) if ((await query(asPromQL(expr))).length === 0) empty.push(where);
      for (const metric of metricsOfRules(readFileSync(join(repo, 'infra/prometheus/rules.yml'), 'utf8'))) {
        if ((await query(`{__name__=~"${metric}(_bucket|_sum|_count)?", job="posguard"}`)).length === 0) empty.push(`rules.yml › ${metric}`);
      }
      expect(empty).toEqual([]);
    }, 300_000);

  it('stops each service on SIGTERM to its pid, cleanly and within the documented bound', async () => {
    for (const l of launched) {
      const sentAt = Date.now();
      process.kill(await l.pid, 'SIGTERM');
      const code = await l.exited;
      const tookMs = Date.now() - sentAt;
      expect({ service: l.service, code, withinBound: tookMs <= shutdownBoundMs + 2_000 }, l.output.join('').slice(-2000)).toEqual({ service: l.service, code: 0, withinBound: true });
    }
    if (prometheusTargetsDir !== undefined) {
      const left = readdirSync(prometheusTargetsDir).filter((f) => launched.some((l) => f.startsWith(`${l.service}-`)));
      expect(left).toEqual([]);
    }
  }, 120_000);
});
