import { defineConfig } from 'vitest/config';

// Test tiers by suffix: *.unit.test.ts need nothing running; *.int.test.ts run against the real
// Kafka, schema registry, ClickHouse engine and Prometheus, provisioned once by the global setup.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/closing-line-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          // chDB binds one data directory per process: each test file gets its own process.
          pool: 'forks',
          testTimeout: 90_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
