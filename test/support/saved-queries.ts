/** Every saved query with parameters that parse (each required one given a value of its type), for tests that run them all on any data. */
import { bindParameters, loadSavedQueries, type SavedQuery } from '../../services/core/clickhouse/saved-queries.ts';

const exampleOf = (type: string) => (type === 'Date' ? '2026-09-01' : /Int|Float/.test(type) ? '1' : 'x');

export function savedQueriesWithExampleParameters(): { readonly query: SavedQuery; readonly params: Record<string, string> }[] {
  return loadSavedQueries().map((query) => ({
    query,
    params: bindParameters(query, Object.fromEntries(query.parameters.filter((p) => p.default === undefined).map((p) => [p.name, exampleOf(p.type)]))),
  }));
}
