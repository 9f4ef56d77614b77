/**
 * The HTTP shell every service shares: /metrics (Prometheus text format), /healthz (the process
 * is alive) and /readyz (its dependencies answer and it has caught up enough to serve). A service
 * adds its own routes to the returned app; `server.ts`-style listening stays with the caller so
 * tests use `app.inject()`.
 */
import Fastify, { LogController } from 'fastify';
import type { Logger } from '../observability/logging.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves to undefined when ready, or to a short reason when not. */
  check(): Promise<string | undefined>;
}

export interface ServiceAppDeps {
  readonly service: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness?: readonly ReadinessCheck[];
  /** Largest request body accepted, in bytes (413 beyond it). */
  readonly bodyLimit?: number;
}

export type ServiceApp = ReturnType<typeof buildServiceApp>;

export function buildServiceApp(deps: ServiceAppDeps) {
  // Per-request log lines would dominate the logs at acquirer rates; metrics count requests instead.
  const app = Fastify({ loggerInstance: deps.logger, bodyLimit: deps.bodyLimit ?? 1024 * 1024, logController: new LogController({ disableRequestLogging: true }) });

  // A client's mistake (4xx) is answered as Fastify words it; anything else is a fault of ours: it is
  // logged with its stack, and the answer carries a stable code and no internals.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status < 500) {
      reply.code(status).send({ error: error.code ?? 'POSGUARD_ERR_INGEST_INVALID', message: error.message });
      return;
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    reply.code(500).send({ error: 'POSGUARD_ERR_REQUEST_FAILED', message: 'the request failed on our side; it is logged' });
  });

  // Every answer counted and timed by its route's pattern: a URL may carry anything a client sent.
  const requests = deps.metrics.get('posguard_http_request_duration_seconds');
  app.addHook('onResponse', async (request, reply) => {
    requests.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.get('/healthz', async () => ({ status: 'ok', service: deps.service }));

  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all((deps.readiness ?? []).map(async (c) => {
      try {
        return { name: c.name, reason: await c.check() };
      } catch (error) {
        return { name: c.name, reason: (error as Error).message };
      }
    }));
    const failing = results.filter((r) => r.reason !== undefined);
    reply.code(failing.length === 0 ? 200 : 503);
    return { status: failing.length === 0 ? 'ready' : 'not ready', service: deps.service, checks: results };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  return app;
}
