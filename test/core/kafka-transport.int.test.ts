import { inject } from 'vitest';
import { createLogger } from '../../services/core/observability/logging.ts';
import { createKafkaTransport } from '../../services/core/transport/kafka/kafka-transport.ts';
import { describeTransportContract } from './transport.contract.ts';

describeTransportContract('Kafka (kafkajs)', async () =>
  createKafkaTransport({
    brokers: inject('endpoints').kafkaBrokers.split(','),
    clientId: 'posguard-contract-test',
    logger: createLogger({ level: 'warn', name: 'contract-test' }),
  }));
