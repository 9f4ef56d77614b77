/**
 * HTTP ingest: acquirers POST authorisations (one or a batch), merchant and terminal
 * profiles and card outcomes as JSON; valid records go to their topics through the idempotent
 * producer, invalid ones are answered field by field and kept in the dead-letter topic.
 *
 * - 401 without a valid `x-api-key` (keys compared in constant time; one key per acquirer); 429 for
 *   a while to an address that keeps presenting wrong ones.
 * - 403 for a record naming another acquirer, or a profile of a merchant or terminal that another
 *   acquirer registered; a terminal profile naming no acquirer is given the key's.
 * - 400 with field-level errors; a batch is all-or-nothing per record: valid ones are accepted.
 * - A clear PAN (13–19 digits passing Luhn) anywhere in a record is refused, and masked in the
 *   dead letter: it is never written or logged.
 * - Idempotent on eventId / outcomeId: a record resent within the recent-id window is accepted once.
 * - 413 over the body limit, 429 over an acquirer's rate, 503 when too many records are in flight.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { fromJsonForm } from '../core/codec/json-form.ts';
import type { SchemaCatalog } from '../core/codec/schema-catalog.ts';
import { KeyChecker, type FailureBrake, type KeyDigest } from '../core/http/api-keys.ts';
import type { Serdes } from '../core/codec/serde.ts';
import { topics } from '../core/codec/topics.ts';
import { isPosguardError, type ErrorCode } from '../core/errors.ts';
import { problem } from '../core/http/problem.ts';
import { buildServiceApp, type ReadinessCheck } from '../core/http/service-app.ts';
import type { Logger } from '../core/observability/logging.ts';
import type { Metrics } from '../core/observability/metrics.ts';
import type { RecordKind } from '../core/jsonl/record-kinds.ts';
import { summariseFieldErrors, type DeadLetter, type FieldError, type MerchantProfile, type TerminalProfile } from '../core/records.ts';
import { maxIdLength, recordErrors } from '../core/semantic-validation.ts';
import type { OutgoingRecord, Producer } from '../core/transport/port.ts';
import { openApiDocument } from './openapi.ts';
import { RecentIds } from './recent-ids.ts';
import { findClearPan, maskClearPans, maskPansInText } from '../core/pan.ts';
import { deadLetterKey, keptLetter } from '../core/service/dead-letter.ts';
import { cutText, cutTexts, oversizedText } from '../core/text-bounds.ts';
import { profileKindOf, type ProfileKind, type ProfileOwners } from '../core/profile-ownership.ts';

export interface IngestDeps {
  readonly producer: Producer;
  readonly serdes: Serdes;
  readonly catalog: SchemaCatalog;
  readonly apiKeys: readonly KeyDigest[];
  /** Wrong keys one client address may present before it is turned away for a while. */
  readonly failureBrake?: FailureBrake;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness?: readonly ReadinessCheck[];
  readonly bodyLimitBytes?: number;
  /** Records per second per acquirer (token bucket, burst of one second). */
  readonly ratePerAcquirer?: number;
  /** How far in the future an authorisation's eventTime may be (client clock skew); 5 minutes when not given. */
  readonly eventTimeMaxAheadMs?: number;
  /** Records produced but not yet acknowledged, above which requests get 503. */
  readonly maxInFlight?: number;
  /** Who registered each merchant and terminal (kept current by a ProfileFeed in a running service). */
  readonly profileOwners: ProfileOwners;
  /** Why requests cannot be taken now (not connected yet, the broker not answering): 503 at once, with it. */
  readonly unavailable?: () => string | undefined;
}

interface Route {
  readonly path: string;
  readonly topic: string;
  readonly kind: RecordKind;
  readonly recordName: string;
  readonly idField: string;
  readonly keyField: string;
}

const routes: readonly Route[] = [
  { path: '/v1/authorisations', topic: topics.authorisations, kind: 'authorisation', recordName: 'AuthorisationEvent', idField: 'eventId', keyField: 'cardToken' },
  { path: '/v1/merchants', topic: topics.merchantProfiles, kind: 'merchant', recordName: 'MerchantProfile', idField: 'merchantId', keyField: 'merchantId' },
  { path: '/v1/terminals', topic: topics.terminalProfiles, kind: 'terminal', recordName: 'TerminalProfile', idField: 'terminalId', keyField: 'terminalId' },
  { path: '/v1/outcomes', topic: topics.cardOutcomes, kind: 'outcome', recordName: 'CardOutcome', idField: 'outcomeId', keyField: 'cardToken' },
];

/** Field errors kept per rejected record, in its answer and its dead letter (then a count of the rest). */
const maxFieldErrors = 3;
/** Rejected records whose field errors the answer lists; the rest are listed with their code only. */
const detailedRejections = 100;
/** Records checked between turns of the event loop. */
const checkSlice = 1_000;

/** How deep a request body may nest: a record with its arrays and nested records is far shallower. */
const maxDepth = 32;

/** Whether a parsed JSON value nests deeper than `limit` (iteratively: the point is not to recurse). */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * The request's records as the key's acquirer may send them, or why it may not, refused whole: a
 * record naming another acquirer, or a profile reaching into another's merchant or terminal.
 * Terminal profiles from before they carried an acquirer, and outcomes, are the key's when they
 * name none.
 */
function ownedItems(owners: ProfileOwners, kind: RecordKind, items: readonly unknown[], acquirerId: string):
  { items: unknown[] } | { refusal: { code: ErrorCode; message: string; indexes: number[] } } {
  const foreign = items.flatMap((item, index) => {
    const named = isObject(item) ? item.acquirerId : undefined;
    return typeof named === 'string' && named !== acquirerId ? [index] : [];
  });
  if (foreign.length > 0) {
    return { refusal: { code: 'POSGUARD_ERR_INGEST_WRONG_ACQUIRER', message: `this API key belongs to acquirer ${acquirerId}; records ${listed(foreign)} name another acquirer`, indexes: foreign } };
  }
  const stamped = kind === 'terminal' || kind === 'outcome'
    ? items.map((item) => (isObject(item) && (item.acquirerId === undefined || item.acquirerId === null) ? { ...item, acquirerId } : item)) : [...items];
  const borrowed = stamped.flatMap((item, index) => {
    const reason = isObject(item) ? othersReference(owners, kind, item, acquirerId) : undefined;
    return reason === undefined ? [] : [{ index, reason }];
  });
  if (borrowed.length > 0) {
    const indexes = borrowed.map((b) => b.index);
    return { refusal: { code: 'POSGUARD_ERR_PROFILE_OF_ANOTHER_ACQUIRER', message: `records ${listed(indexes)} ${borrowed[0]!.reason}; this API key belongs to acquirer ${acquirerId}`, indexes } };
  }
  return { items: stamped };
}

type RecordResult = { index: number; id: string | null; status: 'accepted' | 'duplicate' | 'rejected'; error?: string; fieldErrors?: FieldError[] };

/**
 * A rejected record's field errors as answered, and its dead letter. Field errors quote values
 * (`got 4111111111111111`): masked for the answer as for the letter, and a record wrong in every
 * field keeps only the first few. Rejections have no source position: each is identified by the
 * request and its index in it.
 */
function rejection(serdes: Serdes, letterId: string, idText: string | null, code: ErrorCode, allFieldErrors: FieldError[], messageOf: (shown: FieldError[]) => string, item: unknown):
  { fieldErrors: FieldError[]; letter: OutgoingRecord } {
  const fieldErrors = (allFieldErrors.length <= maxFieldErrors ? allFieldErrors
    : [...allFieldErrors.slice(0, maxFieldErrors), { path: '(record)', message: `and ${allFieldErrors.length - maxFieldErrors} more fields are wrong` }])
    .map((e) => ({ path: maskPansInText(e.path), message: maskPansInText(e.message) }));
  // Cut before masking, so that the masking's work is bounded too (a cut never leaves part of a card number).
  const letter: DeadLetter = keptLetter({
    service: 'ingest', sourceTopic: null, sourcePartition: null, sourceOffset: null,
    originalKey: Buffer.from(idText ?? ''), originalValue: Buffer.from(JSON.stringify(maskClearPans(cutTexts(item))) ?? ''),
    errorCode: code, errorMessage: messageOf(fieldErrors), fieldErrors, failedAt: Date.now(), letterId,
  });
  // Keyed by its id, or its letter id: records without one spread over the partitions.
  return { fieldErrors, letter: { key: idText === null ? Buffer.from(letterId) : deadLetterKey(Buffer.from(idText)), value: serdes.forTopic(topics.deadLetters).encode(letter) } };
}

/** The answer to a request whose records were each taken or refused: 400 when none was taken, else 202 for the rest. */
function answer(reply: FastifyReply, results: RecordResult[]) {
  const count = (status: RecordResult['status']) => results.filter((r) => r.status === status).length;
  const summary = { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected') };
  if (summary.rejected === results.length) {
    reply.code(400);
    return { error: results[0]!.error, message: 'no record was accepted', ...summary, results };
  }
  reply.code(202);
  return { ...summary, results };
}

/** Records per second per acquirer: a token bucket each, with a burst of one second. */
class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: number) {}

  take(acquirerId: string, n: number): boolean {
    const now = Date.now();
    const bucket = this.buckets.get(acquirerId) ?? { tokens: this.rate, at: now };
    bucket.tokens = Math.min(this.rate, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.buckets.set(acquirerId, bucket);
    if (bucket.tokens < n) return false;
    bucket.tokens -= n;
    return true;
  }
}

/** What is wrong with one record, in the order the checks must run (bounds first: they keep the rest cheap), or the record. */
function checkRecord(route: Route, type: Parameters<typeof fromJsonForm>[0], item: unknown, context: { now: number; maxAheadMs: number }):
  { ok: true; record: Record<string, unknown> } | { ok: false; code: ErrorCode; fieldErrors: FieldError[]; messageOf: (shown: FieldError[]) => string } {
  const invalid = (shown: FieldError[]) => `not a valid ${route.recordName}: ${summariseFieldErrors(shown)}`;
  // Every text is bounded before any check reads it: a megabyte in one field must not hold the event loop.
  const oversized = oversizedText(item);
  if (oversized !== undefined) return { ok: false, code: 'POSGUARD_ERR_INGEST_INVALID', fieldErrors: [oversized], messageOf: invalid };
  const pan = findClearPan(item);
  if (pan !== undefined) {
    return { ok: false, code: 'POSGUARD_ERR_INGEST_CLEAR_PAN', fieldErrors: [{ path: pan, message: 'looks like a clear card number; send the token' }], messageOf: () => `a clear card number was sent in ${pan}` };
  }
  const parsed = fromJsonForm<Record<string, unknown>>(type, item);
  if (!parsed.ok) return { ok: false, code: 'POSGUARD_ERR_INGEST_INVALID', fieldErrors: parsed.errors, messageOf: invalid };
  const meaning = recordErrors(route.kind, parsed.value, context);
  if (meaning.length > 0) {
    return { ok: false, code: 'POSGUARD_ERR_INGEST_INVALID', fieldErrors: meaning, messageOf: (shown) => `not a meaningful ${route.recordName}: ${summariseFieldErrors(shown)}` };
  }
  return { ok: true, record: parsed.value };
}

/** Why a profile reaches into a merchant or terminal another acquirer registered, if it does: it changes one, or places a terminal under another's merchant. */
function othersReference(owners: ProfileOwners, kind: RecordKind, item: Record<string, unknown>, acquirerId: string): string | undefined {
  const foreign = (of: ProfileKind, id: unknown) => {
    const owner = typeof id === 'string' ? owners.ownerOf(of, id) : undefined;
    return owner !== undefined && owner !== acquirerId;
  };
  if (kind === 'merchant' && foreign('merchant', item.merchantId)) return 'change a merchant that another acquirer registered';
  if (kind === 'terminal' && foreign('terminal', item.terminalId)) return 'change a terminal that another acquirer registered';
  if (kind === 'terminal' && foreign('merchant', item.merchantId)) return 'register a terminal under a merchant that another acquirer registered';
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const listed = (indexes: readonly number[]) => `${indexes.slice(0, 10).join(', ')}${indexes.length > 10 ? ' …' : ''}`;

export function buildIngestApp(deps: IngestDeps) {
  const app = buildServiceApp({ service: 'ingest', logger: deps.logger, metrics: deps.metrics, readiness: deps.readiness, bodyLimit: deps.bodyLimitBytes ?? 5 * 1024 * 1024 });

  const recent = new RecentIds(1_000_000);
  const rate = deps.ratePerAcquirer ?? 20_000;
  const tokens = new TokenBuckets(rate);
  const maxInFlight = deps.maxInFlight ?? 50_000;
  let inFlight = 0;
  const produced = deps.metrics.get('posguard_records_produced_total');
  const deadLettered = deps.metrics.get('posguard_dead_letters_total');

  const keys = new KeyChecker(() => deps.apiKeys, deps.failureBrake);

  app.get('/docs', async () => openApiDocument(deps.catalog, routes));

  for (const route of routes) {
    const profileKind = profileKindOf(route.topic);
    app.post(route.path, async (request, reply) => {
      const caller = keys.check(request);
      if (caller.kind === 'throttled') {
        reply.header('retry-after', String(caller.retryAfterSeconds));
        return problem(reply, 'POSGUARD_ERR_AUTH_THROTTLED', `too many wrong API keys from this address; retry in ${caller.retryAfterSeconds} s`);
      }
      if (caller.kind === 'unknown') return problem(reply, 'POSGUARD_ERR_INGEST_UNAUTHORISED', 'send a valid acquirer API key in the x-api-key header');
      const acquirerId = caller.holder;
      const unavailable = deps.unavailable?.();
      if (unavailable !== undefined) {
        reply.header('retry-after', '5');
        return problem(reply, 'POSGUARD_ERR_INGEST_UNAVAILABLE', `ingest cannot take records now: ${unavailable}; retry`);
      }
      const body = request.body;
      let items: unknown[] = Array.isArray(body) ? body : [body];
      if (items.length === 0 || body === undefined || body === null) return problem(reply, 'POSGUARD_ERR_INGEST_INVALID', 'the body must be one record or a non-empty array of records');
      // Records are a few levels deep; a body nested thousands deep would overflow the stack of every check below.
      if (deeperThan(body, maxDepth)) return problem(reply, 'POSGUARD_ERR_INGEST_INVALID', `the body is nested deeper than ${maxDepth} levels; records are not`);
      const owned = ownedItems(deps.profileOwners, route.kind, items, acquirerId);
      if ('refusal' in owned) return problem(reply, owned.refusal.code, owned.refusal.message, { indexes: owned.refusal.indexes });
      items = owned.items;
      // More than a second's worth would wait for tokens forever: say so, with the limit.
      if (items.length > rate) {
        return problem(reply, 'POSGUARD_ERR_INGEST_BATCH_TOO_LARGE', `${items.length} records in one request; an acquirer may send at most ${rate} a second (POSGUARD_INGEST_RATE_PER_ACQUIRER): split the batch`, { limit: rate });
      }
      if (!tokens.take(acquirerId, items.length)) {
        reply.header('retry-after', '1');
        return problem(reply, 'POSGUARD_ERR_INGEST_RATE_LIMITED', `acquirer ${acquirerId} is over its rate of ${rate} records per second`);
      }
      if (inFlight + items.length > maxInFlight) {
        reply.header('retry-after', '1');
        return problem(reply, 'POSGUARD_ERR_INGEST_OVERLOADED', `${inFlight} records are waiting for the log; retry shortly`);
      }

      const serde = deps.serdes.forTopic(route.topic);
      const accepted: OutgoingRecord[] = [];
      const claimed: (MerchantProfile | TerminalProfile)[] = [];
      const dead: OutgoingRecord[] = [];
      const results: RecordResult[] = [];
      const requestId = randomUUID();
      let rejections = 0;
      // Answers the record as rejected and keeps it, PANs masked, in the dead-letter topic.
      const reject = (index: number, idText: string | null, code: ErrorCode, allFieldErrors: FieldError[], messageOf: (shown: FieldError[]) => string, item: unknown) => {
        const { fieldErrors, letter } = rejection(deps.serdes, `${requestId}/${index}`, idText, code, allFieldErrors, messageOf, item);
        // The answer details the first rejections; every one is detailed in its dead letter.
        results.push(++rejections <= detailedRejections ? { index, id: idText, status: 'rejected', error: code, fieldErrors } : { index, id: idText, status: 'rejected', error: code });
        dead.push(letter);
        deadLettered.inc({ service: 'ingest', topic: route.topic, code });
      };
      for (const [index, item] of items.entries()) {
        // A batch of thousands is checked in slices, so that other requests and heartbeats are served meanwhile.
        if (index > 0 && index % checkSlice === 0) await new Promise((resolve) => setImmediate(resolve));
        const id = isObject(item) ? item[route.idField] : undefined;
        // The id as answered and kept: cut and masked (a client may send a card number, or a megabyte, as its id).
        const idText = typeof id === 'string' ? maskPansInText(cutText(id, maxIdLength)) : null;
        const checked = checkRecord(route, serde.type, item, { now: Date.now(), maxAheadMs: deps.eventTimeMaxAheadMs ?? 300_000 });
        if (!checked.ok) {
          reject(index, idText, checked.code, checked.fieldErrors, checked.messageOf, item);
          continue;
        }
        const record = checked.record;
        const recordId = String(record[route.idField]);
        // Per acquirer: another acquirer's record with the same id must not turn this one into a "duplicate".
        if (route.idField !== route.keyField && !recent.add(`${route.topic}:${acquirerId}:${recordId}`)) {
          results.push({ index, id: recordId, status: 'duplicate' });
          continue;
        }
        accepted.push({ key: Buffer.from(String(record[route.keyField])), value: serde.encode(record) });
        results.push({ index, id: recordId, status: 'accepted' });
        if (profileKind !== undefined) claimed.push(record as unknown as MerchantProfile | TerminalProfile);
      }

      inFlight += accepted.length + dead.length;
      try {
        await deps.producer.send([{ topic: route.topic, records: accepted }, { topic: topics.deadLetters, records: dead }].filter((b) => b.records.length > 0));
      } catch (error) {
        // Nothing was acknowledged: let the acquirer retry these ids.
        for (const r of results) if (r.status === 'accepted' && r.id !== null) recent.delete(`${route.topic}:${acquirerId}:${r.id}`);
        deps.logger.error({ error: (error as Error).message, route: route.path }, 'producing to the log failed');
        if (isPosguardError(error, 'POSGUARD_ERR_TRANSPORT_RECORD_TOO_LARGE')) {
          return problem(reply, 'POSGUARD_ERR_INGEST_RECORD_TOO_LARGE', 'the log refused a record of this request as larger than its topic accepts; send smaller records');
        }
        reply.header('retry-after', '1');
        return problem(reply, 'POSGUARD_ERR_INGEST_OVERLOADED', 'the log did not acknowledge the records; retry');
      } finally {
        inFlight -= accepted.length + dead.length;
      }
      produced.inc({ service: 'ingest', topic: route.topic }, accepted.length);
      // Written, so owned: this instance refuses another acquirer's change before its feed reads these back.
      for (const profile of claimed) deps.profileOwners.claim(profileKind!, profile);
      return answer(reply, results);
    });
  }
  return app;
}
