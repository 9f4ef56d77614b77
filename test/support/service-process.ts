/**
 * Services under test as separate OS processes (`posguard run <service>`), on loopback ports,
 * stopped by SIGTERM (graceful) or SIGKILL (a crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Transport } from '../../services/core/transport/port.ts';
import { totalLag } from '../../services/pipeline/drain.ts';
import { waitFor } from './wait.ts';

const cli = fileURLToPath(new URL('../../bin/posguard.js', import.meta.url));

export interface ServiceProcess {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly output: string[];
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function startService(args: string[], env: Record<string, string>, options: { waitReady?: boolean } = {}): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [cli, 'run', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const service = { name: args.join(' '), port, child, output, exited };
  if (options.waitReady ?? true) {
    try {
      await waitFor(`${service.name} to be ready`, async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${service.name} exited`);
        try {
          return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
        } catch {
          return false;
        }
      }, 300_000);
    } catch (error) {
      // A service that never got ready must not outlive the test; its output says why.
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}; its output:\n${output.join('').slice(-4000)}`);
    }
  }
  return service;
}

/** A counter of a running service, summed over its label values. */
export async function counter(service: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

export async function stopService(service: ServiceProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
  if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill(signal);
  return service.exited;
}

/**
 * Waits until the given groups have had no lag for `quietMs`: long enough for every stage's silent
 * partitions to go idle and release their last inputs (which, downstream, would show up as lag again).
 */
export async function waitForQuietGroups(kafka: Transport, groups: readonly string[], quietMs: number, timeoutMs = 300_000): Promise<void> {
  let polls = 0;
  let quietSince: number | undefined;
  await waitFor('the pipeline to drain and settle', async () => {
    if (++polls % 100 === 0) {
      const byGroup = await Promise.all(groups.map(async (g) => `${g}=${await totalLag(kafka, [g])}`));
      process.stderr.write(`[test] lag ${byGroup.join(' ')}\n`);
    }
    if ((await totalLag(kafka, groups)) > 0) quietSince = undefined;
    else quietSince ??= Date.now();
    return quietSince !== undefined && Date.now() - quietSince >= quietMs;
  }, timeoutMs);
}

/** Kills what is left of the services and writes each one's output to `<dir>/<n>-<name>.log`, for when a test fails (CI keeps /tmp for the run). */
export async function endServices(services: readonly ServiceProcess[], dir: string): Promise<void> {
  // Whatever a failed test left running goes at once.
  await Promise.all(services.map((s) => stopService(s, 'SIGKILL')));
  mkdirSync(dir, { recursive: true });
  services.forEach((s, i) => writeFileSync(join(dir, `${i}-${s.name.replaceAll(' ', '-')}.log`), s.output.join('')));
}
