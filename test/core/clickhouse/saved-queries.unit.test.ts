import { describe, expect, it } from 'vitest';
import { isPosguardError } from '../../../services/core/errors.ts';
import { bindParameters, loadSavedQueries, parameterArguments, parseSavedQuery } from '../../../services/core/clickhouse/saved-queries.ts';

const text = [
  '-- Cards that used a terminal before its alert.',
  '-- @param terminal String: the terminal the alert names',
  '-- @param days UInt32 = 60: how many days before the alert',
  '-- @param day Nullable(Date) = \\N: the day; by default the latest',
  'SELECT {terminal:String}, {days:UInt32}, {day:Nullable(Date)};',
].join('\n');

const failsWith = (code: string, message: RegExp) => (fn: () => unknown) => {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isPosguardError(thrown, code as never), String(thrown)).toBe(true);
  expect((thrown as Error).message).toMatch(message);
};

describe('saved queries', () => {
  it('read their description, parameters (type, default, meaning) and statement from the file', () => {
    const q = parseSavedQuery('cards', text);
    expect(q.description).toBe('Cards that used a terminal before its alert.');
    expect(q.parameters).toEqual([
      { name: 'terminal', type: 'String', default: undefined, description: 'the terminal the alert names' },
      { name: 'days', type: 'UInt32', default: '60', description: 'how many days before the alert' },
      { name: 'day', type: 'Nullable(Date)', default: '\\N', description: 'the day; by default the latest' },
    ]);
    expect(q.sql).toBe('SELECT {terminal:String}, {days:UInt32}, {day:Nullable(Date)}');
  });

  it('refuse a file that uses a parameter it does not declare, declares one it does not use, or uses another type', () => {
    failsWith('POSGUARD_ERR_SAVED_QUERY_INVALID', /\{card:String\} is not declared/)(() => parseSavedQuery('q', 'SELECT {card:String}'));
    failsWith('POSGUARD_ERR_SAVED_QUERY_INVALID', /days is declared but not used/)(() => parseSavedQuery('q', '-- @param days UInt32: d\nSELECT 1'));
    failsWith('POSGUARD_ERR_SAVED_QUERY_INVALID', /days is declared UInt32 but used as String/)(() => parseSavedQuery('q', '-- @param days UInt32: d\nSELECT {days:String}'));
  });

  it('bind given values and defaults, and name every missing or unknown parameter', () => {
    const q = parseSavedQuery('cards', text);
    expect(bindParameters(q, { terminal: "t-1' OR 1=1 --" })).toEqual({ terminal: "t-1' OR 1=1 --", days: '60', day: '\\N' });
    expect(bindParameters(q, { terminal: 't-1', days: '7', day: '2026-09-03' })).toEqual({ terminal: 't-1', days: '7', day: '2026-09-03' });
    failsWith('POSGUARD_ERR_SAVED_QUERY_PARAMETER', /terminal \(String: the terminal the alert names\) is required; card is not a parameter of cards \(it takes terminal, days, day\)/)(
      () => bindParameters(q, { card: 'tok' }));
  });

  it('read --param name=value arguments, the value keeping any further "="', () => {
    expect(parameterArguments(['terminal=t-1', 'note=a=b'])).toEqual({ terminal: 't-1', note: 'a=b' });
    failsWith('POSGUARD_ERR_SAVED_QUERY_PARAMETER', /--param "terminal": expected name=value/)(() => parameterArguments(['terminal']));
  });

  it('are at least ten in infra/clickhouse/queries, each described and valid', () => {
    const all = loadSavedQueries();
    expect(all.length).toBeGreaterThanOrEqual(10);
    for (const q of all) expect(q.description, q.name).not.toBe('');
  });
});
