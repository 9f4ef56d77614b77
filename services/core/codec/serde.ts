/**
 * Avro values in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro
 * binary), one serde per topic. Encoding and decoding are synchronous: the hot path must not await
 * per message. The only asynchronous step is learning a writer schema id not seen before, which
 * `prepare` does once per batch before the batch is decoded.
 *
 * The registry client's own encode/decode are async per message, so the 5-byte framing is done
 * here; registration and schema lookup stay with the client (see schema-registry.ts).
 */
import avro from 'avsc';
import { PosguardError } from '../errors.ts';
import { summariseFieldErrors, type FieldError } from '../records.ts';
import { avroTypeOptions, type SchemaCatalog } from './schema-catalog.ts';
import type { SchemaRegistryPort } from './schema-registry.ts';
import { contractOf, topicContracts, valueSubject } from './topics.ts';

const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export type { FieldError };

export interface TopicSerde<T = unknown> {
  readonly topic: string;
  readonly recordName: string;
  /** Id of the reader (and writer) schema this process registered for the topic. */
  readonly schemaId: number;
  readonly type: avro.Type;
  encode(value: T): Buffer;
  /** Decodes a framed value; the writer id must be the serde's own or one `prepare` has seen. */
  decode(bytes: Buffer): T;
  /**
   * Fetches the writer schemas of any framed values whose ids are new to this serde. Throws only
   * when the registry cannot be asked (worth retrying); a schema that cannot be read as this
   * topic's record makes `decode` refuse the values written with it.
   */
  prepare(values: Iterable<Buffer | null>): Promise<void>;
  /** Field-level problems of a value against the topic's schema (empty when valid). */
  validate(value: unknown): FieldError[];
}

export function schemaIdOf(bytes: Buffer): number {
  if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC_BYTE) {
    throw new PosguardError('POSGUARD_ERR_CODEC_NOT_AVRO_FRAMED',
      `value of ${bytes.length} bytes does not start with the Confluent magic byte and a schema id`, { length: bytes.length });
  }
  return bytes.readInt32BE(1);
}

export function validateAgainst(type: avro.Type, value: unknown): FieldError[] {
  const errors: FieldError[] = [];
  try {
    type.isValid(value, {
      errorHook(path: string[], part: unknown, partType: avro.Type) {
        const expected = partType.typeName ?? (partType as { name?: string }).name ?? 'value';
        errors.push({ path: path.join('.') || '(record)', message: `expected ${expected}, got ${describe(part)}` });
      },
    });
  } catch (error) {
    // avsc's checks can throw on values JSON can carry: an enum given {"toString": 0} cannot become text.
    errors.push({ path: '(record)', message: `holds a value that cannot be checked (${(error as Error).message})` });
  }
  return errors;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  if (value === null) return 'null';
  const text = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? typeof value : String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

class Serde<T> implements TopicSerde<T> {
  private readonly resolvers = new Map<number, avro.Resolver>();
  /**
   * Writer schemas this reader cannot read (another topic's record, say): a value framed with one
   * is that record's fault, reported by `decode` for it alone, so the caller dead-letters it and
   * goes on — a poison pill must not stop the partition.
   */
  private readonly unreadable = new Map<number, PosguardError>();
  // Encoding into one growing scratch buffer, then copying out exactly the bytes written, costs one
  // allocation per record instead of two (toBuffer + concat).
  private scratch = Buffer.allocUnsafe(16 * 1024);

  constructor(
    readonly topic: string,
    readonly recordName: string,
    readonly schemaId: number,
    readonly type: avro.Type,
    private readonly registry: SchemaRegistryPort,
    private readonly lookups: SchemaLookups | undefined,
  ) {
    this.scratch.writeUInt8(MAGIC_BYTE, 0);
    this.scratch.writeInt32BE(schemaId, 1);
  }

  encode(value: T): Buffer {
    for (;;) {
      let end: number;
      try {
        end = this.type.encode(value, this.scratch, HEADER_BYTES);
      } catch (error) {
        throw this.invalid(value, error);
      }
      if (end > 0) return Buffer.from(this.scratch.subarray(0, end));
      // avsc returns minus the size it needed when the buffer is too small.
      const grown = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, -end));
      this.scratch.copy(grown, 0, 0, HEADER_BYTES);
      this.scratch = grown;
    }
  }

  decode(bytes: Buffer): T {
    const id = schemaIdOf(bytes);
    const body = bytes.subarray(HEADER_BYTES);
    try {
      if (id === this.schemaId) return this.type.fromBuffer(body) as T;
      const resolver = this.resolvers.get(id);
      if (resolver === undefined) {
        const refusal = this.unreadable.get(id);
        if (refusal !== undefined) throw refusal;
        throw new PosguardError('POSGUARD_ERR_CODEC_UNKNOWN_SCHEMA_ID',
          `${this.topic}: value written with schema id ${id}, which this reader has not prepared`, { topic: this.topic, id });
      }
      return this.type.fromBuffer(body, resolver) as T;
    } catch (error) {
      if (error instanceof PosguardError) throw error;
      throw new PosguardError('POSGUARD_ERR_CODEC_INVALID_RECORD',
        `${this.topic}: value does not decode as ${this.recordName} (schema id ${id}): ${(error as Error).message}`,
        { topic: this.topic, id }, { cause: error });
    }
  }

  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    let known = 0;
    for (const bytes of values) {
      if (bytes === null || bytes.length < HEADER_BYTES || bytes[0] !== MAGIC_BYTE) continue;
      const id = bytes.readInt32BE(1);
      if (id === this.schemaId || this.resolvers.has(id) || this.unreadable.has(id)) {
        known++;
        continue;
      }
      this.lookups?.('miss', 1);
      let writer: avro.Type;
      try {
        writer = avro.Type.forSchema(JSON.parse(await this.registry.schemaText(id)) as avro.Schema, avroTypeOptions());
      } catch (error) {
        // An id the registry does not know is the record's fault, not the reader's: decode() will
        // report it for that record and the caller dead-letters it.
        if (error instanceof PosguardError && error.code === 'POSGUARD_ERR_CODEC_UNKNOWN_SCHEMA_ID') continue;
        throw error;
      }
      try {
        this.resolvers.set(id, this.type.createResolver(writer));
      } catch (error) {
        this.unreadable.set(id, new PosguardError('POSGUARD_ERR_CODEC_INCOMPATIBLE_SCHEMA',
          `${this.topic}: value written with schema id ${id} (${writer.name ?? 'unnamed'}), which cannot be read as ${this.recordName}: ${(error as Error).message}`,
          { topic: this.topic, id }, { cause: error }));
      }
    }
    // Counted once per batch: a counter per record would cost more than the lookup it counts.
    if (known > 0) this.lookups?.('hit', known);
  }

  validate(value: unknown): FieldError[] {
    return validateAgainst(this.type, value);
  }

  private invalid(value: unknown, cause: unknown): PosguardError {
    const fieldErrors = this.validate(value);
    const summary = summariseFieldErrors(fieldErrors) || (cause as Error).message;
    return new PosguardError('POSGUARD_ERR_CODEC_INVALID_RECORD', `${this.topic}: not a valid ${this.recordName}: ${summary}`,
      { topic: this.topic, fieldErrors }, { cause });
  }
}

/** Told how a batch's writer schema ids were found: already known (hit) or fetched from the registry (miss). */
export type SchemaLookups = (result: 'hit' | 'miss', records: number) => void;

export interface Serdes {
  forTopic<T = unknown>(topic: string): TopicSerde<T>;
}

/**
 * Registers every topic's value schema (idempotent: an unchanged schema keeps its id) and returns
 * a serde per topic. Called once at service start-up.
 */
export async function registerSerdes(registry: SchemaRegistryPort, catalog: SchemaCatalog, lookups?: SchemaLookups): Promise<Serdes> {
  const serdes = new Map<string, TopicSerde>();
  for (const contract of topicContracts) {
    const id = await registry.register(valueSubject(contract.topic), catalog.standaloneSchema(contract.recordName));
    serdes.set(contract.topic, new Serde(contract.topic, contract.recordName, id, catalog.type(contract.recordName), registry, lookups));
  }
  return {
    forTopic<T>(topic: string): TopicSerde<T> {
      const serde = serdes.get(topic);
      if (serde === undefined || contractOf(topic) === undefined) {
        throw new PosguardError('POSGUARD_ERR_CODEC_UNKNOWN_TOPIC', `no schema is bound to topic ${topic}`, { topic });
      }
      return serde as TopicSerde<T>;
    },
  };
}
