/**
 * Saved investigations: the SQL files in infra/clickhouse/queries/, each headed by what it answers
 * and the parameters it takes:
 *
 *   -- Cards that used a terminal in the days before its first alert.
 *   -- @param terminal String: the terminal the alert names
 *   -- @param days UInt32 = 60: how many days before the alert
 *
 * The body names each parameter as ClickHouse's own query parameter, `{terminal:String}`: values
 * travel beside the statement and ClickHouse parses each as its type, so no value is ever spliced
 * into SQL. A file whose placeholders and declarations differ is refused when it is read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PosguardError } from '../errors.ts';
import { migrationsDir } from './migrations.ts';

export const savedQueriesDir = join(migrationsDir, 'queries');

export interface SavedQueryParameter {
  readonly name: string;
  /** A ClickHouse type: what the value is parsed as. */
  readonly type: string;
  /** Used when the parameter is not given; undefined: it must be given. */
  readonly default: string | undefined;
  readonly description: string;
}

export interface SavedQuery {
  readonly name: string;
  readonly description: string;
  readonly parameters: readonly SavedQueryParameter[];
  readonly sql: string;
}

const declaration = /^--\s*@param\s+([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z0-9_(), ']+?)(?:\s*=\s*(.*?))?\s*:\s*(.+)$/;
const placeholder = /\{([A-Za-z_][A-Za-z0-9_]*):([^}]+)\}/g;

/** Parses one saved query's text; `name` is its file name without `.sql`. */
export function parseSavedQuery(name: string, text: string): SavedQuery {
  const description: string[] = [];
  const parameters: SavedQueryParameter[] = [];
  const body: string[] = [];
  for (const line of text.split('\n')) {
    const declared = declaration.exec(line.trim());
    if (declared !== null) parameters.push({ name: declared[1]!, type: declared[2]!.trim(), default: declared[3], description: declared[4]!.trim() });
    else if (body.length === 0 && line.startsWith('--')) description.push(line.replace(/^--\s?/, ''));
    else body.push(line);
  }
  const sql = body.join('\n').trim().replace(/;\s*$/, '');
  const used = new Map<string, string>();
  for (const [, parameter, type] of sql.matchAll(placeholder)) used.set(parameter!, type!.trim());
  const problems: string[] = [];
  for (const [parameter, type] of used) {
    const declared = parameters.find((p) => p.name === parameter);
    if (declared === undefined) problems.push(`{${parameter}:${type}} is not declared with -- @param`);
    else if (declared.type !== type) problems.push(`${parameter} is declared ${declared.type} but used as ${type}`);
  }
  for (const p of parameters) if (!used.has(p.name)) problems.push(`${p.name} is declared but not used`);
  if (problems.length > 0) {
    throw new PosguardError('POSGUARD_ERR_SAVED_QUERY_INVALID', `saved query ${name}: ${problems.join('; ')}`, { query: name });
  }
  return { name, description: description.join(' ').trim(), parameters, sql };
}

export function loadSavedQueries(dir = savedQueriesDir): SavedQuery[] {
  return readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()
    .map((f) => parseSavedQuery(basename(f, '.sql'), readFileSync(join(dir, f), 'utf8')));
}

export function findSavedQuery(name: string, dir = savedQueriesDir): SavedQuery {
  const all = loadSavedQueries(dir);
  const query = all.find((q) => q.name === name);
  if (query === undefined) {
    throw new PosguardError('POSGUARD_ERR_SAVED_QUERY_UNKNOWN', `no saved query "${name}"; saved queries: ${all.map((q) => q.name).join(', ')}`, { query: name });
  }
  return query;
}

/**
 * The query parameters for `given` (name → value as text): defaults for those not given. Fails
 * naming every parameter that is missing or that the query does not take.
 */
export function bindParameters(query: SavedQuery, given: Readonly<Record<string, string>>): Record<string, string> {
  const problems: string[] = [];
  const values: Record<string, string> = {};
  for (const p of query.parameters) {
    const value = Object.hasOwn(given, p.name) ? given[p.name] : p.default;
    if (value === undefined) problems.push(`${p.name} (${p.type}: ${p.description}) is required`);
    else values[p.name] = value;
  }
  for (const name of Object.keys(given)) {
    if (!query.parameters.some((p) => p.name === name)) problems.push(`${name} is not a parameter of ${query.name}`);
  }
  if (problems.length > 0) {
    const takes = query.parameters.length === 0 ? 'it takes none' : `it takes ${query.parameters.map((p) => p.name).join(', ')}`;
    throw new PosguardError('POSGUARD_ERR_SAVED_QUERY_PARAMETER', `saved query ${query.name}: ${problems.join('; ')} (${takes})`,
      { query: query.name, parameters: problems });
  }
  return values;
}

/** `k=v` arguments as a name → value map; fails naming an argument without `=`. */
export function parameterArguments(args: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const arg of args) {
    const at = arg.indexOf('=');
    if (at <= 0) throw new PosguardError('POSGUARD_ERR_SAVED_QUERY_PARAMETER', `--param ${JSON.stringify(arg)}: expected name=value`, { parameters: [arg] });
    values[arg.slice(0, at)] = arg.slice(at + 1);
  }
  return values;
}

/** How `posguard query --list` shows a saved query. */
export function describeSavedQuery(q: SavedQuery): string {
  const parameters = q.parameters.map((p) => `    --param ${p.name}=<${p.type}>${p.default === undefined ? '' : ` (default ${p.default})`}  ${p.description}`);
  return [`${q.name}`, `    ${q.description}`, ...parameters].join('\n');
}
