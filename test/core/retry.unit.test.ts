/**
 * The one retry policy: capped, jittered exponential waits; an error's own `retriable` flag, read
 * down its causes, ends the attempts at once; a stopping caller ends the wait at once.
 */
import { describe, expect, it } from 'vitest';
import { PosguardError } from '../../services/core/errors.ts';
import { delayAfter, mayPassOnRetry, retrying, type Backoff } from '../../services/core/retry.ts';

const quick: Backoff = { attempts: 4, firstDelayMs: 1, maxDelayMs: 4 };

describe('the retry policy', () => {
  it('doubles the wait from the first delay up to the cap, jittered between half and all of it', () => {
    const backoff: Backoff = { attempts: Infinity, firstDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 9].map((n) => delayAfter(backoff, n, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect([1, 2, 5].map((n) => delayAfter(backoff, n, () => 0))).toEqual([50, 100, 500]);
  });

  it('reads retriable down the causes, the innermost flag deciding', () => {
    const gaveUp = Object.assign(new Error('retries exceeded'), { retriable: false, cause: Object.assign(new Error('connection closed'), { retriable: true }) });
    const fenced = Object.assign(new Error('non-retriable'), { retriable: false, cause: Object.assign(new Error('INVALID_PRODUCER_EPOCH'), { retriable: false }) });
    expect(mayPassOnRetry(gaveUp)).toBe(true);
    expect(mayPassOnRetry(fenced)).toBe(false);
    expect(mayPassOnRetry(new PosguardError('POSGUARD_ERR_TRANSPORT_TRANSACTION_STATE', 'fenced'))).toBe(false);
    expect(mayPassOnRetry(new Error('no flag at all'))).toBe(true);
  });

  it('tries until it succeeds, telling the caller before each wait', async () => {
    const told: number[] = [];
    const result = await retrying(quick, async (n) => {
      if (n < 3) throw new Error(`attempt ${n}`);
      return n;
    }, { onRetry: (n) => void told.push(n) });
    expect(result).toBe(3);
    expect(told).toEqual([1, 2]);
  });

  it('throws the last error once the attempts are spent', async () => {
    let attempts = 0;
    await expect(retrying(quick, async (n) => {
      attempts++;
      throw new Error(`attempt ${n}`);
    })).rejects.toThrow('attempt 4');
    expect(attempts).toBe(4);
  });

  it('stops at once on an error no retry can pass', async () => {
    let attempts = 0;
    await expect(retrying(quick, async () => {
      attempts++;
      throw new PosguardError('POSGUARD_ERR_TRANSPORT_TRANSACTION_STATE', 'fenced by a newer instance');
    })).rejects.toThrow('fenced');
    expect(attempts).toBe(1);
  });

  it('ends a long wait at once when the caller stops, and resolves undefined', async () => {
    let stop: () => void = () => undefined;
    const stopping = new Promise<void>((resolve) => { stop = resolve; });
    let isStopped = false;
    const started = Date.now();
    const outcome = retrying({ attempts: Infinity, firstDelayMs: 60_000, maxDelayMs: 60_000 }, async () => {
      throw new Error('not up yet');
    }, { stopping, stopped: () => isStopped, onRetry: () => { setTimeout(() => { isStopped = true; stop(); }, 10); } });
    expect(await outcome).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
