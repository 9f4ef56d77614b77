/**
 * What the ingest routes write with, bound once Kafka and the registry answer. A running ingest
 * serves its routes from the first moment on one listener (no gap while it swaps listeners): until
 * it is connected, and whenever the broker stops answering, a request gets 503 with the reason at
 * once rather than waiting out the client's retries.
 */
import type { Serdes } from '../core/codec/serde.ts';
import type { ProfileOwners } from '../core/profile-ownership.ts';
import type { Producer } from '../core/transport/port.ts';

export interface IngestConnection {
  readonly producer: Producer;
  readonly serdes: Serdes;
  readonly profileOwners: ProfileOwners;
}

export class LateIngestConnection implements IngestConnection {
  private connection: IngestConnection | undefined;

  constructor(private readonly waitingFor: () => string | undefined) {}

  connect(connection: IngestConnection): void {
    this.connection = connection;
  }

  /** Why requests cannot be taken now, or undefined when they can. */
  unavailable(): string | undefined {
    return this.connection === undefined ? this.waitingFor() ?? 'starting' : this.waitingFor();
  }

  get producer(): Producer {
    return this.bound().producer;
  }

  get serdes(): Serdes {
    return this.bound().serdes;
  }

  get profileOwners(): ProfileOwners {
    return this.bound().profileOwners;
  }

  private bound(): IngestConnection {
    if (this.connection === undefined) throw new Error('ingest used before it was connected: check unavailable() first');
    return this.connection;
  }
}
