import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configVariables, loadConfig } from '../../../services/core/config/config.ts';
import { isPosguardError, type PosguardError } from '../../../services/core/errors.ts';

function failure(env: Record<string, string>): PosguardError {
  try {
    loadConfig(env);
  } catch (error) {
    if (isPosguardError(error, 'POSGUARD_ERR_CONFIG_INVALID')) return error;
    throw error;
  }
  throw new Error('configuration was accepted');
}

describe('configuration from the environment', () => {
  it('defaults to the embedded mode with documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      runMode: 'embedded', kafkaBrokers: [], schemaRegistryUrl: undefined, clickhouseUrl: undefined,
      clickhouseDatabase: 'posguard', dataDir: './data', port: 8080, host: '127.0.0.1', logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('runs distributed when brokers and a registry are given', () => {
    const config = loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7/' });
    expect(config.runMode).toBe('distributed');
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(config.schemaRegistryUrl).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
  });

  it.each([
    ['KAFKA_BROKERS', { KAFKA_BROKERS: 'localhost', SCHEMA_REGISTRY_URL: 'http://r:1' }, '"localhost" is not host:port'],
    ['SCHEMA_REGISTRY_URL', { SCHEMA_REGISTRY_URL: 'registry:8081' }, 'must use http or https'],
    ['CLICKHOUSE_URL', { CLICKHOUSE_URL: 'not a url' }, 'is not a URL'],
    ['PORT', { PORT: '80a' }, 'is not a whole number'],
    ['PORT', { PORT: '70000' }, 'outside 0–65535'],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, 'is not one of'],
    ['CLICKHOUSE_DATABASE', { CLICKHOUSE_DATABASE: 'pos-guard' }, 'not a plain identifier'],
    ['POSGUARD_API_KEYS', { POSGUARD_API_KEYS: 'acq-1:short' }, 'key of 16+ characters (entry 1)'],
    ['POSGUARD_API_KEYS', { POSGUARD_API_KEYS: 'acq-1:sha256:abc' }, 'sha256:<64 hex digits>'],
  ])('stops on a malformed %s and names it', (variable, env, problem) => {
    const error = failure(env);
    expect(error.message).toContain(`${variable}: `);
    expect(error.message).toContain(problem);
    expect(error.details.variables).toEqual([variable]);
  });

  it('stops when KAFKA_BROKERS is set without SCHEMA_REGISTRY_URL, naming the missing variable', () => {
    const error = failure({ KAFKA_BROKERS: '127.0.0.1:9092' });
    expect(error.message).toContain('SCHEMA_REGISTRY_URL: is required when KAFKA_BROKERS is set');
  });

  it('reports every bad variable at once', () => {
    expect(failure({ PORT: 'x', LOG_LEVEL: 'y' }).details.variables).toEqual(['PORT', 'LOG_LEVEL']);
  });

  it('reads each acquirer\'s own decision thresholds, and refuses a review score above the decline score naming the acquirer', () => {
    expect(loadConfig({ POSGUARD_DECISION_POLICY: 'acq-eu-01:0.3/0.9, acq-us-02:0.1/0.5' }).decisionPolicies)
      .toEqual({ 'acq-eu-01': { review: 0.3, decline: 0.9 }, 'acq-us-02': { review: 0.1, decline: 0.5 } });
    expect(loadConfig({}).decisionPolicies).toEqual({});
    expect(failure({ POSGUARD_DECISION_POLICY: 'acq-eu-01:0.9/0.3' }).message).toContain('POSGUARD_DECISION_POLICY');
    expect(failure({ POSGUARD_DECISION_POLICY: 'acq-eu-01:0.9/0.3' }).message).toContain('acq-eu-01\'s review score 0.9 is above its decline score 0.3');
    expect(failure({ POSGUARD_DECISION_POLICY: 'acq-eu-01:0.3/2' }).message).toContain('acq-eu-01\'s decline "2" is not a score from 0 to 1');
    expect(failure({ POSGUARD_DECISION_POLICY: 'acq-eu-01=0.3/0.9' }).message).toContain('is not acquirerId:review/decline');
  });

  it('documents every variable in docs/CONFIGURATION.md', () => {
    const doc = readFileSync(new URL('../../../docs/CONFIGURATION.md', import.meta.url), 'utf8');
    for (const v of configVariables) expect(doc, v.name).toContain(`\`${v.name}\``);
  });
});
