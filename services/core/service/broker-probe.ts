/**
 * Whether the broker answers, asked in the background every few seconds: a service that only
 * produces (ingest) has no consumer whose failure would tell it, and a request must not wait out the
 * client's retries to learn that the log is away.
 */
import type { TopicAdmin } from '../transport/port.ts';

export interface BrokerProbeOptions {
  readonly intervalMs: number;
  /** An answer slower than this counts as none. */
  readonly timeoutMs: number;
}

export class BrokerProbe {
  private reason: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly admin: TopicAdmin, private readonly topic: string, private readonly options: BrokerProbeOptions = { intervalMs: 3_000, timeoutMs: 2_500 }) {}

  start(): void {
    const ask = () => void this.ask();
    this.timer = setInterval(ask, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Undefined while the broker answered the last question; else why not. */
  unavailable(): string | undefined {
    return this.reason;
  }

  private async ask(): Promise<void> {
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.admin.endOffsets(this.topic),
        new Promise((_, reject) => { timeout = setTimeout(() => reject(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs); }),
      ]);
      this.reason = undefined;
    } catch (error) {
      this.reason = `Kafka does not answer (${(error as Error).message})`;
    } finally {
      clearTimeout(timeout);
    }
  }
}
