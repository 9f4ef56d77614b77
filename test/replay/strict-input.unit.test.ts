/**
 * Replay (and backtest, which reads the same way) refuses garbage out loud: rejected lines are
 * counted by reason, unknown fields are an error unless --lenient, and a stream mostly rejected
 * fails instead of looking like a quiet day.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../services/cli/main.ts';
import { recordLine } from '../../services/core/jsonl/record-line.ts';
import { outcome, purchase, registry, T0 } from '../detectors/world.ts';

const dir = mkdtempSync(join(tmpdir(), 'posguard-strict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function replay(lines: readonly string[], ...flags: string[]): Promise<{ code: number; out: string; err: string }> {
  const input = join(dir, `in-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(input, `${lines.join('\n')}\n`);
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  const code = await main(['replay', '--input', input, '--alerts', join(dir, 'alerts.jsonl'), ...flags]);
  vi.restoreAllMocks();
  return { code, out, err };
}

const valid = () => [...registry(), ...Array.from({ length: 200 }, (_, i) => purchase({ at: T0 + i * 60_000 }))].map((r) => recordLine(r.kind, r.record));

describe('strict input for replay and backtest', () => {
  it('fails with POSGUARD_ERR_INPUT_REJECTED when every line has an unknown type', async () => {
    const lines = valid().map((l) => l.replace(/"type":"\w+"/, '"type":"authorization"'));
    const { code, err } = await replay(lines);
    expect(code).toBe(1);
    expect(err).toContain('POSGUARD_ERR_INPUT_REJECTED');
    expect(err).toContain(`${lines.length} of ${lines.length} lines rejected (${lines.length} UNKNOWN_TYPE)`);
  });

  it('rejects an outcome whose disputed-events field is misspelled, and says which field', async () => {
    const misspelled = recordLine('outcome', outcome({ card: 'tok-alice', at: T0 + 3_600_000 }).record).replace('"disputedEventIds"', '"disputedEventIDs"');
    const rejected = join(dir, 'rejected.jsonl');
    const { code, out } = await replay([...valid(), misspelled], '--rejected', rejected);
    expect(code).toBe(0);
    expect(out).toContain('1 rejected (1 UNKNOWN_FIELD)');
    const [line] = readFileSync(rejected, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; error: string });
    expect(line).toMatchObject({ reason: 'UNKNOWN_FIELD' });
    expect(line!.error).toContain('"disputedEventIDs"');
  });

  it('--lenient accepts unknown fields and counts them as warnings', async () => {
    const extra = valid().map((l, i) => (i === 10 ? l.replace('{', '{"shoeSize":44,') : l));
    const { code, out } = await replay(extra, '--lenient');
    expect(code).toBe(0);
    expect(out).toContain('0 rejected');
    expect(out).toContain('1× "shoeSize"');
  });

  it('tolerates rejections up to --max-rejected-share and fails above it', async () => {
    const lines = valid();
    const someBad = lines.map((l, i) => (i % 50 === 49 ? 'not json' : l));
    expect((await replay(someBad)).code).toBe(1);
    const { code, out } = await replay(someBad, '--max-rejected-share', '0.05');
    expect(code).toBe(0);
    expect(out).toContain('4 rejected (4 NOT_JSON)');
  });
});
