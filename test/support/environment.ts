/**
 * Where the integration tests find Kafka, the schema registry and Prometheus, decided in one
 * place (INFRA.md):
 *   1. endpoints from the environment (KAFKA_BROKERS + SCHEMA_REGISTRY_URL, and PROMETHEUS_URL);
 *   2. otherwise testcontainers, when a Docker engine answers (Kafka and the registry in
 *      containers; Prometheus from the native stack, which needs no Docker);
 *   3. otherwise the native local stack of infra/local/stack.ts.
 * Whatever this starts, the returned teardown stops; what was already running is left alone.
 */
import { stackDown, stackEndpoints, stackUp } from '../../infra/local/stack.ts';

export interface TestEndpoints {
  readonly source: 'environment' | 'testcontainers' | 'native';
  readonly kafkaBrokers: string;
  readonly schemaRegistryUrl: string;
  /** Undefined only when the environment names Kafka and a registry but no Prometheus. */
  readonly prometheusUrl: string | undefined;
  /** Directory Prometheus reads file_sd scrape targets from (native stack only). */
  readonly prometheusTargetsDir: string | undefined;
}

export interface ProvisionedEnvironment {
  readonly endpoints: TestEndpoints;
  teardown(): Promise<void>;
}

const noop = async () => {};

async function dockerReachable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const probe = getContainerRuntimeClient().then(() => true, () => false);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000).unref());
    return await Promise.race([probe, timeout]);
  } catch {
    return false;
  }
}

async function fromTestcontainers(): Promise<ProvisionedEnvironment> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const { KafkaContainer } = await import('@testcontainers/kafka');
  // Confluent Platform 7.9 is Apache Kafka 3.9, the line kafkajs is verified against.
  const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start();
  const registry = await new GenericContainer('apicurio/apicurio-registry:3.0.9')
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080).forStatusCode(200))
    .start();
  const [prometheus] = await stackUp(undefined, ['prometheus']);
  const native = stackEndpoints();
  return {
    endpoints: {
      source: 'testcontainers',
      kafkaBrokers: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`,
      schemaRegistryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      prometheusUrl: native.prometheusUrl,
      prometheusTargetsDir: native.prometheusTargetsDir,
    },
    async teardown() {
      await Promise.all([kafka.stop(), registry.stop()]);
      if (prometheus?.state === 'started') await stackDown(undefined, ['prometheus']);
    },
  };
}

async function fromNativeStack(): Promise<ProvisionedEnvironment> {
  const states = await stackUp();
  const started = states.filter((s) => s.state === 'started').map((s) => s.name);
  const native = stackEndpoints();
  return {
    endpoints: {
      source: 'native',
      kafkaBrokers: native.kafkaBrokers,
      schemaRegistryUrl: native.schemaRegistryUrl,
      prometheusUrl: native.prometheusUrl,
      prometheusTargetsDir: native.prometheusTargetsDir,
    },
    teardown: started.length === 0 ? noop : async () => {
      await stackDown(undefined, started);
    },
  };
}

export async function provisionTestEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ProvisionedEnvironment> {
  const kafkaBrokers = env.KAFKA_BROKERS?.trim();
  const schemaRegistryUrl = env.SCHEMA_REGISTRY_URL?.trim();
  if (kafkaBrokers && schemaRegistryUrl) {
    return {
      endpoints: {
        source: 'environment',
        kafkaBrokers,
        schemaRegistryUrl,
        prometheusUrl: env.PROMETHEUS_URL?.trim() || undefined,
        prometheusTargetsDir: env.PROMETHEUS_TARGETS_DIR?.trim() || undefined,
      },
      teardown: noop,
    };
  }
  if (await dockerReachable()) return fromTestcontainers();
  return fromNativeStack();
}
