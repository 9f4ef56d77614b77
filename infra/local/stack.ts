/**
 * The native local stack: a real Apache Kafka (KRaft, one node), a real schema registry (Apicurio,
 * Confluent-compatible API) and a real Prometheus, on loopback, without Docker.
 *
 * Fetching: Kafka and Apicurio come from Maven Central through `mvn` (the only JVM registry these
 * machines reach) into a git-ignored cache; Prometheus is Debian's package. Running: each component
 * is a detached process with its pid, log and data under `<POSGUARD_DATA_DIR>/stack/`. `up` is
 * idempotent (what already runs is reported, not restarted) and waits for readiness; `down` stops
 * exactly the pids it recorded.
 *
 * Usage: tsx infra/local/stack.ts up|down|status|fetch   (npm run stack:up / stack:down / stack:status / stack:fetch)
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// Apicurio 3.0.9 is the newest release that runs on Java 17 (3.3.x is built for Java 21, which
// these machines' Debian does not package).
export const stackVersions = { kafka: '3.9.2', apicurio: '3.0.9' } as const;

const apicurioRunner = `apicurio-registry-app-${stackVersions.apicurio}-runner.jar`;

export interface StackLayout {
  readonly cacheDir: string;
  readonly stateDir: string;
  readonly kafkaPort: number;
  readonly controllerPort: number;
  readonly registryPort: number;
  readonly prometheusPort: number;
  /** Where the registry keeps its schemas across restarts, as a production registry does; in memory when unset. */
  readonly registryDataDir?: string;
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`${name}: "${raw}" is not a TCP port`);
  }
  return port;
}

export function stackLayout(): StackLayout {
  const dataDir = resolve(repoRoot, process.env.POSGUARD_DATA_DIR ?? 'data');
  return {
    cacheDir: resolve(repoRoot, process.env.POSGUARD_STACK_CACHE ?? '.cache/stack'),
    stateDir: join(dataDir, 'stack'),
    kafkaPort: portFromEnv('POSGUARD_STACK_KAFKA_PORT', 19092),
    controllerPort: portFromEnv('POSGUARD_STACK_CONTROLLER_PORT', 19093),
    registryPort: portFromEnv('POSGUARD_STACK_REGISTRY_PORT', 18081),
    prometheusPort: portFromEnv('POSGUARD_STACK_PROMETHEUS_PORT', 19090),
  };
}

export interface StackEndpoints {
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  readonly prometheusUrl: string;
  /** Directory Prometheus watches for file_sd target files (`<name>.json`). */
  readonly prometheusTargetsDir: string;
}

export function stackEndpoints(layout: StackLayout = stackLayout()): StackEndpoints {
  return {
    kafkaBrokers: `127.0.0.1:${layout.kafkaPort}`,
    schemaRegistryUrl: `http://127.0.0.1:${layout.registryPort}/apis/ccompat/v7`,
    prometheusUrl: `http://127.0.0.1:${layout.prometheusPort}`,
    prometheusTargetsDir: join(layout.stateDir, 'prometheus', 'targets'),
  };
}

export type ComponentName = 'kafka' | 'schema-registry' | 'prometheus';

interface Component {
  readonly name: ComponentName;
  /** Downloads or locates what the component needs; cheap when cached. */
  fetch(layout: StackLayout): void;
  /** The command line to run, after preparing its state directory. */
  prepare(layout: StackLayout): { command: string; args: string[] };
  ready(layout: StackLayout): Promise<boolean>;
  readonly startTimeoutMs: number;
}

function run(command: string, args: string[], what: string, cwd?: string): void {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${what} failed (${command} ${args.join(' ')}): ${result.error?.message ?? `exit ${result.status}`}\n${output}`);
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolvePromise(false);
    });
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding. */
function kafkaClusterId(): string {
  return randomBytes(16).toString('base64url');
}

const kafka: Component = {
  name: 'kafka',
  startTimeoutMs: 60_000,
  fetch(layout) {
    const libs = join(layout.cacheDir, 'kafka-libs');
    if (existsSync(join(libs, `kafka_2.13-${stackVersions.kafka}.jar`))) return;
    log(`fetching Apache Kafka ${stackVersions.kafka} and its dependencies from Maven Central …`);
    run('mvn', ['-q', '-B', '-f', join(repoRoot, 'infra/local/pom.xml'), 'dependency:copy-dependencies',
      '-DincludeScope=runtime', `-DoutputDirectory=${libs}`], 'fetching Kafka');
  },
  prepare(layout) {
    const dir = join(layout.stateDir, 'kafka');
    const logDir = join(dir, 'log');
    mkdirSync(logDir, { recursive: true });
    const properties = join(dir, 'server.properties');
    writeFileSync(properties, [
      '# Written by infra/local/stack.ts: one KRaft node (broker + controller) on loopback.',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${layout.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${layout.kafkaPort},CONTROLLER://127.0.0.1:${layout.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${layout.kafkaPort}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${logDir}`,
      'num.partitions=3',
      // One node: every internal topic has one replica, or transactions and groups never start.
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      // Tests create and join many groups; the default 3 s delay would be paid on every join.
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'delete.topic.enable=true',
      'log.retention.hours=168',
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'log4j.properties'), [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      'log4j.logger.org.apache.kafka=INFO',
      '',
    ].join('\n'));
    const classpath = `${join(layout.cacheDir, 'kafka-libs')}/*`;
    const jvm = ['-Xms256m', '-Xmx768m', `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`, '-cp', classpath];
    if (!existsSync(join(logDir, 'meta.properties'))) {
      // `--cluster-id=<id>` in one argument: an id starting with '-' (1 in 64) is otherwise read as an option.
      run('java', [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${kafkaClusterId()}`, '--config', properties],
        'formatting the Kafka log directory');
    }
    return { command: 'java', args: [...jvm, 'kafka.Kafka', properties] };
  },
  async ready(layout) {
    if (!(await portOpen(layout.kafkaPort))) return false;
    // An open port is not a working broker: ask for metadata as a client would.
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({ brokers: [`127.0.0.1:${layout.kafkaPort}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  },
};

const schemaRegistry: Component = {
  name: 'schema-registry',
  startTimeoutMs: 120_000,
  fetch(layout) {
    const home = join(layout.cacheDir, 'apicurio');
    if (existsSync(join(home, apicurioRunner))) return;
    const dist = join(layout.cacheDir, 'apicurio-dist');
    log(`fetching Apicurio Registry ${stackVersions.apicurio} from Maven Central …`);
    // dependency:copy, not copy-dependencies: the artifact's pom names repositories outside Maven
    // Central, and the runnable tarball already holds everything it needs.
    run('mvn', ['-q', '-B', '-f', join(repoRoot, 'infra/local/pom.xml'), 'dependency:copy',
      `-Dartifact=io.apicurio:apicurio-registry-app:${stackVersions.apicurio}:tar.gz:all`, `-DoutputDirectory=${dist}`],
      'fetching Apicurio Registry');
    mkdirSync(home, { recursive: true });
    run('tar', ['xzf', join(dist, `apicurio-registry-app-${stackVersions.apicurio}-all.tar.gz`), '-C', home], 'unpacking Apicurio Registry');
  },
  prepare(layout) {
    return {
      command: 'java',
      args: [
        '-Xmx512m', '-XX:+UseSerialGC',
        `-Dquarkus.http.port=${layout.registryPort}`,
        '-Dquarkus.http.host=127.0.0.1',
        // In-memory storage: the registry is a test and development fixture here; production users
        // bring their own registry.
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=h2',
        ...(layout.registryDataDir === undefined ? [] : [`-Dapicurio.datasource.url=jdbc:h2:file:${join(layout.registryDataDir, 'registry')}`]),
        '-jar', join(layout.cacheDir, 'apicurio', apicurioRunner),
      ],
    };
  },
  ready(layout) {
    return httpOk(`http://127.0.0.1:${layout.registryPort}/apis/ccompat/v7/subjects`);
  },
};

function prometheusBinary(layout: StackLayout): string | undefined {
  const candidates = [process.env.PROMETHEUS_BIN, '/usr/bin/prometheus', join(layout.cacheDir, 'prometheus-deb', 'usr', 'bin', 'prometheus')];
  return candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c));
}

const prometheus: Component = {
  name: 'prometheus',
  startTimeoutMs: 30_000,
  fetch(layout) {
    if (prometheusBinary(layout) !== undefined) return;
    // Without root, Debian's package can still be unpacked into the cache.
    log("fetching Debian's prometheus package …");
    const dir = join(layout.cacheDir, 'prometheus-deb');
    mkdirSync(dir, { recursive: true });
    try {
      run('apt-get', ['download', 'prometheus'], 'apt-get download prometheus', dir);
      const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
      if (deb === undefined) throw new Error('apt-get download produced no .deb');
      run('dpkg-deb', ['-x', join(dir, deb), dir], 'unpacking prometheus');
    } catch (error) {
      throw new Error(`Prometheus is not installed and could not be fetched. Install Debian's package ` +
        `(apt-get update && apt-get install -y prometheus) or set PROMETHEUS_BIN.\n${(error as Error).message}`);
    }
  },
  prepare(layout) {
    const dir = join(layout.stateDir, 'prometheus');
    const targets = join(dir, 'targets');
    mkdirSync(targets, { recursive: true });
    const config = join(dir, 'prometheus.yml');
    // Services under test register themselves by writing a file_sd JSON file into targets/.
    writeFileSync(config, [
      '# Written by infra/local/stack.ts',
      'global:',
      '  scrape_interval: 2s',
      '  evaluation_interval: 2s',
      `rule_files: ['${join(repoRoot, 'infra', 'prometheus', 'rules.yml')}']`,
      'scrape_configs:',
      '  - job_name: prometheus',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${layout.prometheusPort}']`,
      '  - job_name: posguard',
      '    file_sd_configs:',
      `      - files: ['${targets}/*.json']`,
      '        refresh_interval: 2s',
      '',
    ].join('\n'));
    const binary = prometheusBinary(layout);
    if (binary === undefined) throw new Error('prometheus binary not found after fetch');
    return {
      command: binary,
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${layout.prometheusPort}`,
        '--storage.tsdb.retention.time=1d',
      ],
    };
  },
  ready(layout) {
    return httpOk(`http://127.0.0.1:${layout.prometheusPort}/-/ready`);
  },
};

const components: readonly Component[] = [kafka, schemaRegistry, prometheus];

function log(line: string): void {
  process.stderr.write(`[stack] ${line}\n`);
}

function pidFile(layout: StackLayout, name: ComponentName): string {
  return join(layout.stateDir, `${name}.pid`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function recordedPid(layout: StackLayout, name: ComponentName): number | undefined {
  const file = pidFile(layout, name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) return pid;
  rmSync(file, { force: true });
  return undefined;
}

export interface ComponentState {
  readonly name: ComponentName;
  readonly pid: number | undefined;
  readonly state: 'started' | 'already running' | 'stopped' | 'not running';
}

async function waitReady(component: Component, layout: StackLayout, pid: number, logPath: string): Promise<void> {
  const deadline = Date.now() + component.startTimeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) {
      const tail = readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(`${component.name} exited during start-up; last log lines (${logPath}):\n${tail}`);
    }
    if (await component.ready(layout)) return;
    await sleep(250);
  }
  throw new Error(`${component.name} was not ready after ${component.startTimeoutMs / 1000}s; see ${logPath}`);
}

async function startComponent(component: Component, layout: StackLayout): Promise<ComponentState> {
  const running = recordedPid(layout, component.name);
  if (running !== undefined) {
    await waitReady(component, layout, running, join(layout.stateDir, `${component.name}.log`));
    return { name: component.name, pid: running, state: 'already running' };
  }
  component.fetch(layout);
  const { command, args } = component.prepare(layout);
  const logPath = join(layout.stateDir, `${component.name}.log`);
  const out = openSync(logPath, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], cwd: layout.stateDir });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${component.name}: could not spawn ${command}`);
  child.unref();
  writeFileSync(pidFile(layout, component.name), `${pid}\n`);
  try {
    await waitReady(component, layout, pid, logPath);
  } catch (error) {
    await stopPid(pid);
    rmSync(pidFile(layout, component.name), { force: true });
    throw error;
  }
  return { name: component.name, pid, state: 'started' };
}

async function stopPid(pid: number, first: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  // Each component leads its own process group (spawned detached): signal the group.
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal(first);
  const deadline = Date.now() + 30_000;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) signal('SIGKILL');
  while (alive(pid)) await sleep(50);
}

/** Starts what is not running (all, or the named components), in order, and waits until each is ready. */
export async function stackUp(layout: StackLayout = stackLayout(), only?: readonly ComponentName[]): Promise<ComponentState[]> {
  mkdirSync(layout.stateDir, { recursive: true });
  const states: ComponentState[] = [];
  for (const component of components) {
    if (only !== undefined && !only.includes(component.name)) continue;
    const started = Date.now();
    const state = await startComponent(component, layout);
    log(`${component.name}: ${state.state} (pid ${state.pid}, ${((Date.now() - started) / 1000).toFixed(1)}s)`);
    states.push(state);
  }
  return states;
}

/** Stops the named components (default all) by their recorded pids, newest first. */
/** Stops what runs (all, or the named components): SIGTERM, SIGKILL after 30 s; `kill` sends SIGKILL at once (a crash, for fault tests). */
export async function stackDown(layout: StackLayout = stackLayout(), only?: readonly ComponentName[], options: { kill?: boolean } = {}): Promise<ComponentState[]> {
  const states: ComponentState[] = [];
  for (const component of [...components].reverse()) {
    if (only !== undefined && !only.includes(component.name)) continue;
    const pid = recordedPid(layout, component.name);
    if (pid === undefined) {
      states.push({ name: component.name, pid: undefined, state: 'not running' });
      continue;
    }
    await stopPid(pid, options.kill === true ? 'SIGKILL' : 'SIGTERM');
    rmSync(pidFile(layout, component.name), { force: true });
    log(`${component.name}: stopped (pid ${pid})`);
    states.push({ name: component.name, pid, state: 'stopped' });
  }
  return states;
}

export async function stackStatus(layout: StackLayout = stackLayout()): Promise<ComponentState[]> {
  const states: ComponentState[] = [];
  for (const component of components) {
    const pid = recordedPid(layout, component.name);
    const ready = pid !== undefined && (await component.ready(layout));
    states.push({ name: component.name, pid, state: ready ? 'already running' : 'not running' });
  }
  return states;
}

function printEndpoints(layout: StackLayout): void {
  const endpoints = stackEndpoints(layout);
  process.stdout.write(`KAFKA_BROKERS=${endpoints.kafkaBrokers}\nSCHEMA_REGISTRY_URL=${endpoints.schemaRegistryUrl}\nPROMETHEUS_URL=${endpoints.prometheusUrl}\nPOSGUARD_PROMETHEUS_TARGETS_DIR=${endpoints.prometheusTargetsDir}\n`);
}

async function cli(command: string | undefined): Promise<number> {
  const layout = stackLayout();
  switch (command) {
    case 'up':
      await stackUp(layout);
      printEndpoints(layout);
      return 0;
    case 'down':
      await stackDown(layout);
      return 0;
    case 'fetch':
      for (const component of components) component.fetch(layout);
      log(`fetched into ${layout.cacheDir}`);
      return 0;
    case 'status': {
      const states = await stackStatus(layout);
      for (const s of states) process.stdout.write(`${s.name}: ${s.state === 'already running' ? `running (pid ${s.pid})` : 'not running'}\n`);
      if (states.every((s) => s.pid !== undefined)) printEndpoints(layout);
      return states.every((s) => s.pid !== undefined) ? 0 : 3;
    }
    default:
      process.stderr.write('usage: stack.ts up|down|status|fetch\n');
      return 2;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv[2]).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      log(`failed: ${(error as Error).message}`);
      process.exitCode = 1;
    },
  );
}
