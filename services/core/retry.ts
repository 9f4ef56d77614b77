/**
 * The one way posguard tries again: attempts spaced by capped exponential backoff with jitter (so
 * that instances started together do not retry in step), stopping at once on an error that says no
 * retry can succeed, or when the caller is stopping. Every loop that waits and tries again — a
 * transaction, topic creation, a schema registration, a ClickHouse insert, a consumer started
 * again, a dependency at start-up — uses it with its own figures (`backoffs`).
 */

export interface Backoff {
  /** Attempts in all, the first included; Infinity: until it succeeds or the caller stops. */
  readonly attempts: number;
  /** The wait after the first failure, before jitter; it doubles with each failure after. */
  readonly firstDelayMs: number;
  /** The longest wait, before jitter. */
  readonly maxDelayMs: number;
}

/** The figures of each loop, in one place. */
export const backoffs = {
  /** A transaction that failed before its commit: the coordinator may still be writing the last one's markers. */
  transaction: { attempts: 6, firstDelayMs: 200, maxDelayMs: 5_000 },
  /** A stage task's first, empty transaction, which takes a fresh coordinator's start-up errors instead of data. */
  warmUpTransaction: { attempts: 10, firstDelayMs: 200, maxDelayMs: 2_000 },
  /** Topics created by services started together, while an earlier deletion may still run. */
  topicCreation: { attempts: 10, firstDelayMs: 250, maxDelayMs: 2_500 },
  /** Registering a schema with the registry. */
  schemaRegistration: { attempts: 5, firstDelayMs: 100, maxDelayMs: 2_000 },
  /** A batch ClickHouse refused: its rows stay buffered and consumption waits. */
  clickhouseInsert: { attempts: Infinity, firstDelayMs: 500, maxDelayMs: 30_000 },
  /** A consumer kafkajs stopped for good, started again. */
  consumerRestart: { attempts: Infinity, firstDelayMs: 1_000, maxDelayMs: 10_000 },
  /** Kafka, the registry or ClickHouse not up yet when a service starts. */
  dependency: { attempts: Infinity, firstDelayMs: 500, maxDelayMs: 10_000 },
} as const satisfies Record<string, Backoff>;

/** The wait after failed attempt `attempt` (1, 2, …): between half and all of the capped exponential delay. */
export function delayAfter(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.firstDelayMs * 2 ** (attempt - 1));
  return ceiling * (0.5 + random() / 2);
}

/**
 * Whether a retry may succeed where this error failed. The error's own `retriable` flag says so,
 * read along its causes, the innermost flag deciding: a client that gave up on a retriable error
 * (kafkajs's "number of retries exceeded", itself marked not retriable) wraps it, while one that
 * met a final error (a fenced producer, a record too large) says so at the bottom. No flag: yes.
 */
export function mayPassOnRetry(error: unknown): boolean {
  let verdict = true;
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current !== null && typeof current === 'object'; depth++) {
    const flag = (current as { retriable?: unknown }).retriable;
    if (typeof flag === 'boolean') verdict = flag;
    current = (current as { cause?: unknown }).cause;
  }
  return verdict;
}

export interface RetryOptions {
  /** Told before each wait: log it, say it on /readyz, send a heartbeat. */
  readonly onRetry?: (attempt: number, delayMs: number, error: unknown) => void | Promise<void>;
  /** Which errors are worth another attempt; `mayPassOnRetry` unless the caller narrows it. */
  readonly retriable?: (error: unknown) => boolean;
  /** Resolves when the caller is stopping: the wait ends at once. */
  readonly stopping?: Promise<unknown>;
  readonly stopped?: () => boolean;
}

/**
 * Runs `attempt` until it succeeds. Throws the last error once the attempts are spent or an error
 * may not pass on a retry; resolves undefined if the caller stops first.
 */
export function retrying<T>(backoff: Backoff, attempt: (n: number) => Promise<T>, options?: RetryOptions & { readonly stopped?: undefined }): Promise<T>;
export function retrying<T>(backoff: Backoff, attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T | undefined>;
export async function retrying<T>(backoff: Backoff, attempt: (n: number) => Promise<T>, options: RetryOptions = {}): Promise<T | undefined> {
  const retriable = options.retriable ?? mayPassOnRetry;
  for (let n = 1; options.stopped?.() !== true; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= backoff.attempts || !retriable(error)) throw error;
      const delayMs = delayAfter(backoff, n);
      await options.onRetry?.(n, delayMs, error);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((resolve) => { timer = setTimeout(resolve, delayMs); }), options.stopping]);
      clearTimeout(timer);
    }
  }
  return undefined;
}
