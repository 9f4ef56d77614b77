/**
 * The schema-registry port and its two adapters: a Confluent-compatible registry over HTTP
 * (through @kafkajs/confluent-schema-registry) for the distributed mode, and an in-process
 * registry for the embedded mode that hands out ids the same way, so records carry the same
 * Confluent wire format in both modes.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { PosguardError } from '../errors.ts';
import { backoffs, retrying } from '../retry.ts';
import { avroTypeOptions } from './schema-catalog.ts';

export interface SchemaRegistryPort {
  /**
   * Registers `schema` (Avro JSON text) under `subject` with BACKWARD compatibility and returns its
   * id. Registering a schema that is already there returns the existing id. An incompatible schema
   * fails with POSGUARD_ERR_REGISTRY_INCOMPATIBLE.
   */
  register(subject: string, schema: string): Promise<number>;
  /** The Avro JSON text of the schema with this id. */
  schemaText(id: number): Promise<string>;
}

interface HttpError {
  status?: number;
  message?: string;
}

export function createConfluentSchemaRegistry(url: string): SchemaRegistryPort {
  const client = new SchemaRegistry({ host: url });
  const registrationError = (subject: string, error: unknown): PosguardError => {
    const status = (error as HttpError).status;
    const message = (error as HttpError).message ?? String(error);
    if (status === 409 || /incompatib|compatibility/i.test(message)) {
      return new PosguardError('POSGUARD_ERR_REGISTRY_INCOMPATIBLE',
        `schema registry rejected the schema for subject ${subject} as not BACKWARD compatible: ${message}`, { subject }, { cause: error });
    }
    return new PosguardError('POSGUARD_ERR_REGISTRY_UNAVAILABLE', `schema registry at ${url} failed to register ${subject}: ${message}`,
      { subject, url }, { cause: error });
  };
  return {
    async register(subject, schema) {
      // Services started together register the same new subjects at the same moment, and the
      // registry refuses all but one (Apicurio: "A rule named 'COMPATIBILITY' already exists"); a
      // moment later the subject exists and registering again returns its id. A truly incompatible
      // schema is refused every time and is reported as such after the last attempt.
      try {
        return await retrying(backoffs.schemaRegistration, async () =>
          (await client.register({ type: SchemaType.AVRO, schema }, { subject, compatibility: COMPATIBILITY.BACKWARD })).id, { retriable: () => true });
      } catch (error) {
        throw registrationError(subject, error);
      }
    },
    async schemaText(id) {
      try {
        const type = await client.getSchema(id);
        return JSON.stringify((type as unknown as avro.Type).schema({ exportAttrs: true }));
      } catch (error) {
        const status = (error as HttpError).status;
        if (status === 404) {
          throw new PosguardError('POSGUARD_ERR_CODEC_UNKNOWN_SCHEMA_ID', `schema registry at ${url} has no schema with id ${id}`, { id }, { cause: error });
        }
        throw new PosguardError('POSGUARD_ERR_REGISTRY_UNAVAILABLE', `schema registry at ${url} failed to return schema ${id}: ${(error as Error).message}`,
          { id, url }, { cause: error });
      }
    },
  };
}

/**
 * The embedded mode's registry: same id semantics as Confluent (one id per distinct schema,
 * shared across subjects; versions per subject) and the same BACKWARD check, done with avsc:
 * the new schema must be able to read data written with the latest registered one.
 */
export function createInProcessSchemaRegistry(): SchemaRegistryPort {
  const idsByCanonical = new Map<string, number>();
  const textById = new Map<number, string>();
  const versionsBySubject = new Map<string, number[]>();

  return {
    async register(subject, schema) {
      const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema, avroTypeOptions());
      const canonical = type.schema({ exportAttrs: false }) as unknown;
      const canonicalText = JSON.stringify(canonical);
      const versions = versionsBySubject.get(subject) ?? [];
      const existingId = idsByCanonical.get(canonicalText);
      if (existingId !== undefined && versions.includes(existingId)) return existingId;

      const latestId = versions.at(-1);
      if (latestId !== undefined) {
        const latest = avro.Type.forSchema(JSON.parse(textById.get(latestId)!) as avro.Schema, avroTypeOptions());
        try {
          type.createResolver(latest);
        } catch (error) {
          throw new PosguardError('POSGUARD_ERR_REGISTRY_INCOMPATIBLE',
            `schema for subject ${subject} is not BACKWARD compatible with version ${versions.length}: ${(error as Error).message}`,
            { subject }, { cause: error });
        }
      }
      const id = existingId ?? idsByCanonical.size + 1;
      idsByCanonical.set(canonicalText, id);
      textById.set(id, schema);
      versionsBySubject.set(subject, [...versions, id]);
      return id;
    },
    async schemaText(id) {
      const text = textById.get(id);
      if (text === undefined) {
        throw new PosguardError('POSGUARD_ERR_CODEC_UNKNOWN_SCHEMA_ID', `in-process registry has no schema with id ${id}`, { id });
      }
      return text;
    },
  };
}
