/**
 * What every service runs on: a transport, a schema registry and the serdes registered with it,
 * with the topics created. Embedded: the in-process log and registry, shared by every service in
 * the process. Distributed: Kafka and a Confluent-compatible registry.
 */
import { loadSchemaCatalog } from '../core/codec/schema-catalog.ts';
import { createConfluentSchemaRegistry, createInProcessSchemaRegistry } from '../core/codec/schema-registry.ts';
import { registerSerdes, type Serdes } from '../core/codec/serde.ts';
import type { PosguardConfig } from '../core/config/config.ts';
import type { Logger } from '../core/observability/logging.ts';
import type { Metrics } from '../core/observability/metrics.ts';
import { ensureTopics } from '../core/service/topology.ts';
import { createInProcessTransport } from '../core/transport/in-process/in-process-log.ts';
import { createKafkaTransport } from '../core/transport/kafka/kafka-transport.ts';
import type { Transport } from '../core/transport/port.ts';

export interface Platform {
  readonly transport: Transport;
  readonly serdes: Serdes;
}

/** `metrics`: where the serdes count their schema lookups (posguard_schema_lookups_total). */
export async function connectPlatform(config: PosguardConfig, logger: Logger, metrics?: Metrics): Promise<Platform> {
  const catalog = loadSchemaCatalog();
  const counter = metrics?.get('posguard_schema_lookups_total');
  const lookups = counter === undefined ? undefined : (result: 'hit' | 'miss', records: number) => counter.inc({ result }, records);
  if (config.runMode === 'embedded') {
    const transport = createInProcessTransport();
    const serdes = await registerSerdes(createInProcessSchemaRegistry(), catalog, lookups);
    await ensureTopics(transport.admin, config.partitions, config.topicRetentionMs);
    return { transport, serdes };
  }
  const transport = createKafkaTransport({ brokers: config.kafkaBrokers, clientId: `${config.kafkaClientId}-${config.instanceId}`, logger });
  const serdes = await registerSerdes(createConfluentSchemaRegistry(config.schemaRegistryUrl!), catalog, lookups);
  await ensureTopics(transport.admin, config.partitions, config.topicRetentionMs);
  return { transport, serdes };
}
