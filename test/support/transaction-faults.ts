/** Faults injected into transactions: a transport whose transactional producers hand out wrapped transactions. */
import type { Transaction, Transport } from '../../services/core/transport/port.ts';

/** Each method of `transaction`, delegated (an adapter's transaction may be a class, whose methods a spread would not copy), with `overrides` in place. */
export function delegating(transaction: Transaction, overrides: Partial<Transaction>): Transaction {
  return {
    send: (batches) => transaction.send(batches),
    sendOffsets: (groupId, offsets) => transaction.sendOffsets(groupId, offsets),
    commit: () => transaction.commit(),
    abort: () => transaction.abort(),
    ...overrides,
  };
}

/** The transport, with every transaction its transactional producers open passed through `wrap`. */
export function wrappingTransactions(transport: Transport, wrap: (transaction: Transaction) => Transaction): Transport {
  return {
    ...transport,
    async transactionalProducer(id) {
      const producer = await transport.transactionalProducer(id);
      return { ...producer, transaction: async () => wrap(await producer.transaction()) };
    },
  };
}
