/**
 * `posguard backtest` on a small hand-built stream whose right answer is known: which cards had
 * confirmed fraud, which alerts fall inside their fraud windows, and what a second threshold set
 * changes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../services/cli/main.ts';
import { recordLine } from '../../services/core/jsonl/record-line.ts';
import type { ScoreRow } from '../../services/backtest/score.ts';
import type { SpecRecord } from '../detectors/specification.ts';
import { DAY, HOUR, T0, outcome, purchase, registry } from '../detectors/world.ts';

const dir = mkdtempSync(join(tmpdir(), 'posguard-backtest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const habit = (card: string): SpecRecord[] => Array.from({ length: 30 }, (_, i) =>
  purchase({ card, at: T0 + i * DAY + ((i % 10) - 2) * HOUR, amountMinor: [1200, 1800, 2500, 3400, 4500, 6000, 2200][i % 7]! }));
const spree = (card: string, start: number, count = 4) => Array.from({ length: count }, (_, i) => purchase({ card, at: start + i * HOUR, amountMinor: 40_000 }));

/**
 * - tok-found: a spree of four, disputed a week later: found 3 h after its first fraud;
 * - tok-innocent: the same spree, never disputed: alerted without fraud;
 * - tok-missed: one unusual purchase disputed: confirmed fraud, no alert;
 * - tok-early: a spree on day 31 (alerted then), but the fraud disputed is an ordinary purchase on day 35.
 */
function stream(): string[] {
  const fraudStart = T0 + 31 * DAY;
  const found = spree('tok-found', fraudStart);
  const innocent = spree('tok-innocent', fraudStart);
  const missed = spree('tok-missed', fraudStart, 1);
  const early = spree('tok-early', fraudStart);
  const earlyFraud = purchase({ card: 'tok-early', at: T0 + 35 * DAY, amountMinor: 2500 });
  const records: SpecRecord[] = [
    ...registry(),
    ...['tok-found', 'tok-innocent', 'tok-missed', 'tok-early'].flatMap(habit).sort((a, b) => (a.record as { eventTime: number }).eventTime - (b.record as { eventTime: number }).eventTime),
    ...[...found, ...innocent, ...missed, ...early].sort((a, b) => a.record.eventTime - b.record.eventTime),
    earlyFraud,
    outcome({ card: 'tok-found', at: fraudStart + 7 * DAY, disputed: found.map((p) => p.record.eventId) }),
    outcome({ card: 'tok-missed', at: fraudStart + 7 * DAY, disputed: missed.map((p) => p.record.eventId) }),
    outcome({ card: 'tok-early', at: T0 + 42 * DAY, disputed: [earlyFraud.record.eventId] }),
  ];
  return records.map((r) => recordLine(r.kind, r.record));
}

async function backtest(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  const code = await main(['backtest', ...args]);
  vi.restoreAllMocks();
  return { code, out, err };
}

const cardRow = (rows: readonly ScoreRow[], detector = '*', reasonCode = '*') =>
  rows.find((r) => r.subjectType === 'CARD' && r.detector === detector && r.reasonCode === reasonCode);

describe('backtest', () => {
  const input = join(dir, 'stream.jsonl');
  writeFileSync(input, `${stream().join('\n')}\n`);

  it('scores card alerts against the stream\'s confirmed fraud: found, missed, alerted without fraud, alerted too early', async () => {
    const { code, out } = await backtest(['--input', input, '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(out) as { outcomesConfirmingFraud: number; runs: { score: { rows: ScoreRow[] } }[] };
    expect(result.outcomesConfirmingFraud).toBe(3);
    const all = cardRow(result.runs[0]!.score.rows)!;
    expect(all).toMatchObject({
      subjectsWithConfirmedFraud: 3, alertedSubjects: 3, found: 1, alertedWithoutFraud: 1, medianHoursToAlert: 3,
    });
    expect(all.recall).toBeCloseTo(1 / 3, 6);
    expect(all.precision).toBeCloseTo(1 / 3, 6);
    expect(cardRow(result.runs[0]!.score.rows, 'card-behaviour', 'AMOUNT_ABOVE_CARD_HABIT')).toMatchObject({ found: 1, alertedSubjects: 3 });
  });

  it('--compare shows what a stricter burst score loses', async () => {
    const stricter = join(dir, 'stricter.json');
    writeFileSync(stricter, JSON.stringify({ cardProfileBurstScore: 5 }));
    const { code, out } = await backtest(['--input', input, '--json', '--compare', stricter]);
    expect(code).toBe(0);
    const result = JSON.parse(out) as { runs: { alerts: number; score: { rows: ScoreRow[] } }[]; changes: { detector: string; gained: string[]; lost: string[] }[] };
    expect(cardRow(result.runs[1]!.score.rows)?.found ?? 0).toBe(0);
    const change = result.changes.find((c) => c.detector === 'card-behaviour')!;
    expect(change.lost).toHaveLength(3);
    expect(change.gained).toEqual([]);
  });

  it('prints a table by subject, detector and reason code', async () => {
    const { code, out } = await backtest(['--input', input]);
    expect(code).toBe(0);
    expect(out).toMatch(/CARD\s+card-behaviour\s+UNUSUAL_SPENDING_BURST\s+3\s+3\s+1\s+1\s+0\.333\s+0\.333\s+3\.0/);
  });

  it('refuses an unknown threshold in --compare, naming it', async () => {
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ cardProfileBurstScor: 5 }));
    const { code, err } = await backtest(['--input', input, '--compare', wrong]);
    expect(code).toBe(1);
    expect(err).toContain('unknown threshold "cardProfileBurstScor"');
  });
});
