/**
 * What an analyst's SQL may do: read posguard's tables, nothing else. ClickHouse's `readonly=1`
 * stops writes, DDL, setting changes and table functions, but not everything that reaches the
 * host: the scalar `file()` reads any file the process can, `INTO OUTFILE` writes one in the
 * embedded engine, dictionary and introspection functions read server state, and chDB runs several
 * statements in one request. So every query passes an allow-list first, checked on the engine's
 * own parse of it:
 * - one statement (ClickHouse's `formatQuery` refuses more), and it is a SELECT;
 * - no INTO OUTFILE, FORMAT or SETTINGS clause (posguard sets the format and the limits);
 * - every function is in an allowed category of `system.functions` (arithmetic, strings, dates,
 *   arrays, JSON, aggregates …) or on a short list of harmless ones; files, URLs, dictionaries,
 *   introspection, server settings and the like are in none of them;
 * - the only table functions are the generators `numbers`, `zeros`, `values`, `generateSeries`;
 * - every table or qualified name outside the analysts' databases (posguard's and the demo's) is
 *   refused (`system.*` too).
 * The statement as ClickHouse formatted it is what runs, under `readonly=1` and the configured
 * limits on time, memory and result size.
 */
import type { ClickHouseSettings, DataFormat } from '@clickhouse/client';
import { PosguardError } from '../errors.ts';
import type { PosguardConfig } from '../config/config.ts';
import { connectClickHouse, type ClickHouseClient } from './client.ts';

export const queryFormats = ['PrettyCompactMonoBlock', 'JSONEachRow', 'CSVWithNames', 'TSVWithNames'] as const;
export type QueryFormat = (typeof queryFormats)[number];

export interface AnalystLimits {
  readonly sqlMaxExecutionSeconds: number;
  readonly sqlMaxMemoryBytes: number;
  readonly sqlMaxResultRows: number;
  readonly sqlMaxResultBytes: number;
}

/** Categories of `system.functions` that compute on values and reach nothing outside the query. */
const allowedCategories = new Set([
  'Aggregate Functions', 'Arithmetic', 'Arrays', 'Bit', 'Bitmap', 'Comparison', 'Conditional', 'Dates and Times', 'Distance',
  'Encoding', 'Financial', 'Geo', 'Geo Polygon', 'Hash', 'IP Address', 'JSON', 'Logical', 'Map', 'Mathematical', 'Null',
  'Random Number', 'Rounding', 'String', 'String Replacement', 'String Search', 'String Splitting', 'Time Window', 'Tuple',
  'Type Conversion', 'URL', 'UUID',
]);

/** From the catch-all category "Other": formatting and row helpers that read nothing outside the query. */
const allowedOthers = new Set([
  'bar', 'transform', 'formatReadableSize', 'formatReadableDecimalSize', 'formatReadableQuantity', 'formatReadableTimeDelta',
  'parseReadableSize', 'parseReadableSizeOrNull', 'parseReadableSizeOrZero', 'parseTimeDelta', 'toTypeName', 'toColumnTypeName',
  'materialize', 'ignore', 'identity', 'countDigits', 'isDecimalOverflow', 'neighbor', 'runningDifference',
  'runningDifferenceStartingWithFirstValue', 'runningAccumulate', 'finalizeAggregation', 'initializeAggregation', 'isConstant',
  'visibleWidth', 'byteSize', 'throwIf', 'currentDatabase', 'defaultValueOfTypeName', 'defaultValueOfArgumentType',
  'getSizeOfEnumType', 'variantElement', 'variantType', 'getSubcolumn', 'errorCodeToName', 'version',
]);

/** The parser's own nodes that look like functions: lambdas in `arrayMap(x -> …)`, and the cast `::` and literals parse to. */
const syntaxFunctions = new Set(['lambda', '_CAST']);

/** Tables outside the analysts' databases that hold nothing: the parse of `SELECT 1` names system.one. */
const allowedOutsideTables = new Set(['system.one']);

/** Table functions that only generate rows. */
const allowedTableFunctions = new Set(['numbers', 'numbers_mt', 'zeros', 'zeros_mt', 'values', 'generateSeries', 'generate_series']);

interface Catalog {
  readonly functions: ReadonlySet<string>;
  readonly combinators: readonly string[];
  readonly aggregates: ReadonlySet<string>;
  readonly databases: ReadonlySet<string>;
}

/** The databases analysts read: the pipeline's, and the demo's beside it. */
export const analystDatabases = (database: string): readonly string[] => [database, `${database}_demo`];

const notAllowed = (what: string) => new PosguardError('POSGUARD_ERR_SQL_NOT_ALLOWED', `${what}; analysts' SQL is one SELECT over posguard's tables (docs/SECURITY.md)`);

/** Reads the engine's functions once, and decides which an analyst may call. */
async function readCatalog(client: ClickHouseClient): Promise<Catalog> {
  const row = async <T>(query: string) => (await (await client.query({ query, format: 'JSONEachRow' })).json<T>())[0]!;
  type FunctionRow = [name: string, aliasTo: string, categories: string, isAggregate: string, caseInsensitive: string];
  const { functions } = await row<{ functions: FunctionRow[] }>(
    'SELECT groupArray([name, alias_to, categories, toString(is_aggregate), toString(case_insensitive)]) AS functions FROM system.functions');
  const byName = new Map(functions.map((f) => [f[0], f]));
  const allowed = new Set<string>();
  const aggregates = new Set<string>();
  for (const f of functions) {
    const canonical = f[1] !== '' ? byName.get(f[1]) ?? f : f;
    const [name, , category, isAggregate] = canonical;
    if (!(allowedCategories.has(category) || (category === 'Other' && allowedOthers.has(name)))) continue;
    for (const spelling of f[4] === '1' ? [f[0], f[0].toLowerCase()] : [f[0]]) {
      allowed.add(spelling);
      if (isAggregate === '1') aggregates.add(spelling);
    }
  }
  const { combinators } = await row<{ combinators: string[] }>('SELECT groupArray(name) AS combinators FROM system.aggregate_function_combinators');
  const { databases } = await row<{ databases: string[] }>('SELECT groupArray(name) AS databases FROM system.databases');
  return { functions: allowed, combinators, aggregates, databases: new Set(databases) };
}

/** An aggregate function, with any combinators (`sumIf`, `uniqStateIf`, `avgOrNullIf` …) peeled off its end. */
function aggregateAllowed(catalog: Catalog, name: string, peeled = 0): boolean {
  if (catalog.aggregates.has(name)) return true;
  return peeled < 4 && catalog.combinators.some((c) => name.length > c.length && name.endsWith(c) && aggregateAllowed(catalog, name.slice(0, -c.length), peeled + 1));
}

function functionAllowed(catalog: Catalog, name: string): boolean {
  return catalog.functions.has(name) || catalog.functions.has(name.toLowerCase()) || syntaxFunctions.has(name) || aggregateAllowed(catalog, name);
}

interface AstLine {
  readonly depth: number;
  readonly node: string;
  readonly rest: string;
}

/** `EXPLAIN AST` lines as (depth, node, rest): one space of indent per level. */
function astLines(explained: readonly string[]): AstLine[] {
  return explained.map((line) => {
    const depth = line.length - line.trimStart().length;
    const [node = '', ...rest] = line.trim().split(' ');
    return { depth, node, rest: rest.join(' ').replace(/ \((?:children \d+|alias [^)]*)\)/g, '').trim() };
  });
}

/** Refuses what the allow-list does not cover; the parent of each line decides what a Function is. */
function checkAst(lines: readonly AstLine[], catalog: Catalog, databases: readonly string[]): void {
  const root = lines[0];
  if (root === undefined || !['SelectWithUnionQuery', 'SelectIntersectExceptQuery'].includes(root.node)) {
    throw notAllowed(`only SELECT is allowed, not ${root?.node ?? 'an empty statement'}`);
  }
  const parents: AstLine[] = [];
  for (const line of lines.slice(1)) {
    parents.length = line.depth;
    const parent = parents[line.depth - 1];
    parents[line.depth] = line;
    if (line.depth === 1 && line.node !== 'ExpressionList') throw notAllowed('INTO OUTFILE, FORMAT and SETTINGS clauses are not allowed');
    if (line.node === 'Set') throw notAllowed('SETTINGS clauses are not allowed: the limits are the SQL port\'s');
    if (line.node === 'Function') {
      const name = line.rest;
      if (parent?.node === 'TableExpression') {
        if (!allowedTableFunctions.has(name)) throw notAllowed(`the table function ${name} is not allowed`);
      } else if (!functionAllowed(catalog, name)) {
        throw notAllowed(`the function ${name} is not allowed`);
      }
    }
    if (line.node === 'TableIdentifier' || line.node === 'Identifier') {
      const qualifier = line.rest.includes('.') ? line.rest.slice(0, line.rest.indexOf('.')) : undefined;
      if (qualifier !== undefined && !databases.includes(qualifier) && catalog.databases.has(qualifier) && !allowedOutsideTables.has(line.rest)) throw notAllowed(`${line.rest} is outside the databases ${databases.join(', ')}`);
    }
  }
}

/**
 * Runs one analyst statement on the allow-list's terms and returns its result as text; what runs is
 * the statement as ClickHouse formatted it, so that what was checked is what runs. `parser` is a
 * session of its own on the embedded engine, without `readonly` (ClickHouse reads EXPLAIN as a
 * subquery through a table function): it only formats and parses, never runs, the analyst's SQL.
 * Against a ClickHouse server (`parser` absent) the server's own grants for its user decide, and
 * posguard adds `readonly` and the limits.
 */
export class AnalystSql {
  private catalog: Promise<Catalog> | undefined;

  constructor(
    private readonly executor: ClickHouseClient, private readonly parser: ClickHouseClient | undefined,
    private readonly databases: readonly string[], private readonly limits: AnalystLimits,
  ) {}

  /** `params`: ClickHouse query parameters (`{name:Type}` in `sql`), sent beside the statement, never spliced into it. */
  async query(sql: string, format: QueryFormat, params: Readonly<Record<string, string>> = {}): Promise<string> {
    const settings: ClickHouseSettings = {
      max_execution_time: this.limits.sqlMaxExecutionSeconds,
      max_memory_usage: String(this.limits.sqlMaxMemoryBytes),
      max_result_rows: String(this.limits.sqlMaxResultRows),
      max_result_bytes: String(this.limits.sqlMaxResultBytes),
      result_overflow_mode: 'throw',
      // Last: it forbids changing any setting after it (chDB applies settings to the session, in order).
      readonly: '1',
    };
    const statement = this.parser === undefined ? sql : await this.checked(this.parser, sql, params);
    // Pretty* are text formats the client passes through untouched; its DataFormat type omits them.
    const result = await this.executor.query({ query: statement, query_params: params, format: format as DataFormat, clickhouse_settings: settings });
    return result.text();
  }

  /** The statement as ClickHouse formats it, once its parse passed the allow-list. */
  private async checked(parser: ClickHouseClient, sql: string, params: Readonly<Record<string, string>>): Promise<string> {
    const one = async <T>(query: string, params?: Record<string, unknown>) =>
      (await (await parser.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: { max_execution_time: 10 } })).json<T>())[0]!;
    this.catalog ??= readCatalog(parser).catch((error: unknown) => {
      this.catalog = undefined;
      throw error;
    });
    const catalog = await this.catalog;
    // One statement, or an error; bound as a parameter, never spliced.
    const { statement } = await one<{ statement: string }>('SELECT formatQuery({statement:String}) AS statement', { statement: sql });
    // EXPLAIN AST parses and never runs; as a subquery ClickHouse itself refuses output clauses (INTO OUTFILE, FORMAT).
    // Parameters are substituted in the parse (as casts of literals): what is checked holds their values.
    const { lines } = await one<{ lines: string[] }>(`SELECT groupArray(explain) AS lines FROM (EXPLAIN AST ${statement})`, params);
    checkAst(astLines(lines), catalog, this.databases);
    return statement;
  }
}

export interface AnalystSession {
  readonly analysts: AnalystSql;
  close(): Promise<void>;
}

/** Analysts' sessions on the configured ClickHouse: on the embedded engine, one to run and one to parse. */
export async function connectAnalysts(config: Pick<PosguardConfig, 'clickhouseUrl' | 'dataDir' | 'clickhouseDatabase'> & AnalystLimits): Promise<AnalystSession> {
  const executor = await connectClickHouse(config);
  const parser = executor.embedded ? await connectClickHouse(config) : undefined;
  return {
    analysts: new AnalystSql(executor.client, parser?.client, analystDatabases(config.clickhouseDatabase), config),
    async close() {
      await executor.client.close();
      await parser?.client.close();
    },
  };
}
