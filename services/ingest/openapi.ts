/**
 * The OpenAPI 3.1 document served at /docs, derived from the Avro schemas, so the HTTP contract is
 * the topic contract.
 */
import type avro from 'avsc';
import type { SchemaCatalog } from '../core/codec/schema-catalog.ts';

type JsonSchema = Record<string, unknown>;

/** JSON Schema for a value in the JSON form of an Avro type (unions unwrapped, longs as integers). */
function jsonSchemaOf(type: avro.Type): JsonSchema {
  const t = type as avro.Type & { typeName: string; doc?: string; fields?: { name: string; type: avro.Type; doc?: string; defaultValue(): unknown }[];
    symbols?: string[]; itemsType?: avro.Type; valuesType?: avro.Type; types?: avro.Type[]; underlyingType?: avro.Type };
  switch (t.typeName) {
    case 'string': return { type: 'string' };
    case 'boolean': return { type: 'boolean' };
    case 'int': case 'long': return { type: 'integer' };
    case 'float': case 'double': return { type: 'number' };
    case 'null': return { type: 'null' };
    case 'bytes': return { type: 'string', description: 'bytes as code points 0–255' };
    case 'enum': return { type: 'string', enum: t.symbols };
    case 'array': return { type: 'array', items: jsonSchemaOf(t.itemsType!) };
    case 'map': return { type: 'object', additionalProperties: jsonSchemaOf(t.valuesType!) };
    case 'union:unwrapped': case 'union:wrapped': return { anyOf: (t.types ?? []).map(jsonSchemaOf) };
    case 'record': case 'error': {
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const field of t.fields ?? []) {
        properties[field.name] = { ...jsonSchemaOf(field.type), ...(field.doc === undefined ? {} : { description: field.doc }) };
        if (field.defaultValue() === undefined) required.push(field.name);
      }
      return { type: 'object', ...(t.doc === undefined ? {} : { description: t.doc }), properties, required, additionalProperties: false };
    }
    default:
      return t.underlyingType !== undefined ? jsonSchemaOf(t.underlyingType) : {};
  }
}

export function openApiDocument(catalog: SchemaCatalog, routes: readonly { path: string; recordName: string }[]): JsonSchema {
  const paths: Record<string, JsonSchema> = {};
  const schemas: Record<string, JsonSchema> = {};
  for (const route of routes) {
    schemas[route.recordName] = jsonSchemaOf(catalog.type(route.recordName));
    const ref = { $ref: `#/components/schemas/${route.recordName}` };
    paths[route.path] = {
      post: {
        summary: `Submit one ${route.recordName} or an array of them`,
        security: [{ apiKey: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [ref, { type: 'array', items: ref }] } } } },
        responses: {
          202: { description: 'Accepted (per-record results; duplicates of recently accepted ids are reported, not resent)' },
          400: { description: 'No record was valid; field-level errors per record (invalid records are also dead-lettered)' },
          401: { description: 'Missing or unknown x-api-key' },
          413: { description: 'Body over the size limit' },
          429: { description: 'Over the acquirer\'s rate limit; retry after the Retry-After header' },
          503: { description: 'Back-pressure: too many records in flight to the log; retry after the Retry-After header' },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'posguard ingest', version: '1', description: 'Card authorisations, merchant and terminal profiles and card outcomes from acquirers.' },
    components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } }, schemas },
    paths,
  };
}
