/**
 * Who is calling: the key in `x-api-key`, compared as a SHA-256 digest in constant time against
 * every configured key, and a brake on guessing — a client address that keeps presenting wrong keys
 * is answered 429 for a while, before its key is even looked at.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** A key as configured: whose it is (an acquirer, or an analyst for the SQL port) and its digest. */
export interface KeyDigest {
  readonly holder: string;
  readonly sha256: Buffer;
}

export const keyDigest = (key: string): Buffer => createHash('sha256').update(key).digest();

/** Wrong keys a client address may present per window before it is turned away until the window ends. */
export interface FailureBrake {
  readonly maxFailures: number;
  readonly windowMs: number;
}

export const defaultFailureBrake: FailureBrake = { maxFailures: 20, windowMs: 60_000 };

/** Client addresses remembered at once; the oldest are forgotten first (an attacker with many addresses gains nothing from more). */
const rememberedClients = 10_000;

export type KeyCheck =
  | { readonly kind: 'known'; readonly holder: string }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'throttled'; readonly retryAfterSeconds: number };

export class KeyChecker {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly keys: () => readonly KeyDigest[], private readonly brake: FailureBrake = defaultFailureBrake, private readonly now: () => number = Date.now) {}

  check(request: FastifyRequest): KeyCheck {
    const client = request.ip;
    const at = this.now();
    const record = this.failures.get(client);
    if (record !== undefined && at - record.since >= this.brake.windowMs) this.failures.delete(client);
    else if (record !== undefined && record.count >= this.brake.maxFailures) {
      return { kind: 'throttled', retryAfterSeconds: Math.max(1, Math.ceil((record.since + this.brake.windowMs - at) / 1000)) };
    }
    const holder = this.holderOf(request.headers['x-api-key']);
    if (holder !== undefined) return { kind: 'known', holder };
    this.fail(client, at);
    return { kind: 'unknown' };
  }

  private holderOf(given: string | string[] | undefined): string | undefined {
    if (typeof given !== 'string' || given.length === 0) return undefined;
    const candidate = keyDigest(given);
    let found: string | undefined;
    // Every key is compared, found or not: the time taken says nothing about which matched.
    for (const k of this.keys()) if (timingSafeEqual(candidate, k.sha256) && found === undefined) found = k.holder;
    return found;
  }

  private fail(client: string, at: number): void {
    const record = this.failures.get(client) ?? { count: 0, since: at };
    record.count++;
    this.failures.delete(client);
    this.failures.set(client, record);
    if (this.failures.size > rememberedClients) this.failures.delete(this.failures.keys().next().value!);
  }
}
