/**
 * `posguard run` started before a dependency answers (the schema registry; for the sink, a
 * ClickHouse server): it serves /readyz at once, says why it is not ready, retries without
 * exiting, and still stops at once on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort, startService, stopService, type ServiceProcess } from '../support/service-process.ts';
import { waitFor } from '../support/wait.ts';

const { kafkaBrokers, schemaRegistryUrl } = inject('endpoints');
let service: ServiceProcess | undefined;

afterAll(async () => {
  if (service !== undefined) await stopService(service, 'SIGKILL');
});

describe('a service started before the schema registry', () => {
  it('reports why it is not ready, keeps retrying, and stops on SIGTERM', async () => {
    // A loopback port nothing listens on: the registry "is not up yet".
    const registry = `http://127.0.0.1:${await freePort()}`;
    service = await startService(['enricher'], { KAFKA_BROKERS: kafkaBrokers, SCHEMA_REGISTRY_URL: registry }, { waitReady: false });
    const readiness = await waitFor('a /readyz answer naming the registry', async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${service!.port}/readyz`);
        const body = (await response.json()) as { checks: { name: string; reason?: string }[] };
        const started = body.checks.find((c) => c.name === 'started');
        return started?.reason?.includes(registry) === true ? { status: response.status, reason: started.reason } : undefined;
      } catch {
        return undefined;
      }
    }, 60_000);
    expect(readiness.status).toBe(503);
    expect(readiness.reason).toMatch(/^waiting for Kafka and the schema registry \(attempt \d+: /);
    // Still there after a few retries: a registry that is not up is no reason to exit.
    await waitFor('a second attempt', async () => {
      const body = (await (await fetch(`http://127.0.0.1:${service!.port}/readyz`)).json()) as { checks: { name: string; reason?: string }[] };
      return /attempt ([2-9]|\d\d)/.test(body.checks[0]?.reason ?? '');
    }, 60_000);
    expect(service.child.exitCode).toBeNull();
    expect(await stopService(service, 'SIGTERM')).toBe(0);
  }, 150_000);
});

describe('an ingest started before the schema registry', () => {
  it('answers a POST on its one listener with 503 and the reason, never 404 or a refused connection', async () => {
    const registry = `http://127.0.0.1:${await freePort()}`;
    const key = 'waits-for-registry-key';
    service = await startService(['ingest'], { KAFKA_BROKERS: kafkaBrokers, SCHEMA_REGISTRY_URL: registry, POSGUARD_API_KEYS: `acq-eu-01:${key}` }, { waitReady: false });
    const example = readFileSync('schemas/examples/AuthorisationEvent.json', 'utf8');
    const post = () => fetch(`http://127.0.0.1:${service!.port}/v1/authorisations`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: example });
    await waitFor('the port to answer', async () => { try { return (await post()).status > 0; } catch { return undefined; } }, 60_000);
    // From then on, every attempt is answered: the listener is never swapped for another.
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await post();
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('POSGUARD_ERR_INGEST_UNAVAILABLE');
      expect(body.message).toMatch(/waiting for Kafka and the schema registry|connecting to Kafka/);
      expect(response.headers.get('retry-after')).toBe('5');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await stopService(service, 'SIGTERM')).toBe(0);
  }, 150_000);
});

describe('a sink started before its ClickHouse server', () => {
  it('reports why it is not ready, keeps retrying, and stops on SIGTERM', async () => {
    // A loopback port nothing listens on: the ClickHouse server "is not up yet".
    const clickhouseUrl = `http://127.0.0.1:${await freePort()}`;
    service = await startService(['sink'], { KAFKA_BROKERS: kafkaBrokers, SCHEMA_REGISTRY_URL: schemaRegistryUrl, CLICKHOUSE_URL: clickhouseUrl }, { waitReady: false });
    const readiness = await waitFor('a /readyz answer naming ClickHouse, after a few attempts', async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${service!.port}/readyz`);
        const body = (await response.json()) as { checks: { name: string; reason?: string }[] };
        const reason = body.checks.find((c) => c.name === 'started')?.reason ?? '';
        return /waiting for ClickHouse .*attempt ([2-9]|\d\d)/.test(reason) ? { status: response.status, reason } : undefined;
      } catch {
        return undefined;
      }
    }, 90_000);
    expect(readiness.status).toBe(503);
    expect(readiness.reason).toContain(clickhouseUrl.replace('http://', ''));
    expect(service.child.exitCode).toBeNull();
    expect(await stopService(service, 'SIGTERM')).toBe(0);
  }, 150_000);
});
