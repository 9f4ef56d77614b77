/** vitest global setup of the integration tier: provision the real stack once for all files. */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { provisionTestEnvironment, type TestEndpoints } from './environment.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: TestEndpoints;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const environment = await provisionTestEnvironment();
  process.stderr.write(`[test environment] ${environment.endpoints.source}: Kafka ${environment.endpoints.kafkaBrokers}, ` +
    `registry ${environment.endpoints.schemaRegistryUrl}, Prometheus ${environment.endpoints.prometheusUrl ?? 'none'} ` +
    `(${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
  project.provide('endpoints', environment.endpoints);
  return () => environment.teardown();
}
