import { createInProcessTransport } from '../../services/core/transport/in-process/in-process-log.ts';
import { describeTransportContract } from './transport.contract.ts';

describeTransportContract('in-process log', async () => createInProcessTransport());
