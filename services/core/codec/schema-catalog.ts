/**
 * The Avro schemas in schemas/*.avsc, compiled once. Files refer to each other's named types
 * (EnrichedAuthorisation embeds AuthorisationEvent); the catalog resolves them, and
 * `standaloneSchema` gives each record with every referenced type inlined — the form registered
 * with the schema registry, so consumers never need schema references.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

export const schemasDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../schemas');

/**
 * avsc options for every type posguard builds, readers and writers alike. A fresh object each
 * call: avsc stores the names it parses in `options.registry`, so a shared object would make the
 * second version of a schema a "duplicate type name".
 */
export function avroTypeOptions(): { wrapUnions: 'auto' } {
  // ["null", X] unions decode to `null | X`, the plain JSON form of the records.
  return { wrapUnions: 'auto' };
}

export interface SchemaCatalog {
  /** Record names (without namespace), e.g. AuthorisationEvent. */
  readonly recordNames: readonly string[];
  type(recordName: string): avro.Type;
  /** JSON text of the record's schema with all referenced named types inlined. */
  standaloneSchema(recordName: string): string;
}

export function loadSchemaCatalog(dir: string = schemasDir): SchemaCatalog {
  const files = readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort();
  const pending = files.map((file) => ({ file, schema: JSON.parse(readFileSync(join(dir, file), 'utf8')) as { name: string } }));
  const registry: Record<string, avro.Type> = {};
  const types = new Map<string, avro.Type>();

  // A file may name types defined in another; parse in passes until every file resolves.
  while (pending.length > 0) {
    const before = pending.length;
    const failures: string[] = [];
    for (let i = pending.length - 1; i >= 0; i--) {
      const entry = pending[i]!;
      const attempt = { ...registry };
      try {
        const type = avro.Type.forSchema(entry.schema as avro.Schema, { ...avroTypeOptions(), registry: attempt });
        Object.assign(registry, attempt);
        types.set(entry.schema.name, type);
        pending.splice(i, 1);
      } catch (error) {
        failures.push(`${entry.file}: ${(error as Error).message}`);
      }
    }
    if (pending.length === before) throw new Error(`cannot parse Avro schemas:\n  ${failures.join('\n  ')}`);
  }

  const standalone = new Map<string, string>();
  return {
    recordNames: [...types.keys()].sort(),
    type(recordName) {
      const type = types.get(recordName);
      if (type === undefined) throw new Error(`no Avro schema named ${recordName} in ${dir}`);
      return type;
    },
    standaloneSchema(recordName) {
      let text = standalone.get(recordName);
      if (text === undefined) {
        text = JSON.stringify(this.type(recordName).schema({ exportAttrs: true }));
        standalone.set(recordName, text);
      }
      return text;
    },
  };
}
