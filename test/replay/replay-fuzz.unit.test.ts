/**
 * Whatever lines a recorded stream holds, `posguard replay` reads each as a record or rejects it with
 * its reason, never crashes, accounts for every line (read = accepted + rejected, each rejected line
 * in --rejected), and writes no clear card number to its alerts, its rejected lines or its output.
 * Lines are generated (fast-check, the suite's fixed seed): arbitrary text and JSON, and valid
 * records of every kind with fields replaced by arbitrary JSON or a card number as people paste it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../services/cli/main.ts';
import { recordLine } from '../../services/core/jsonl/record-line.ts';
import { maskPansInText } from '../../services/core/pan.ts';
import { registry, outcome, purchase, T0 } from '../detectors/world.ts';
import { fuzzRuns, pastedPan } from '../support/fuzz.ts';

const dir = mkdtempSync(join(tmpdir(), 'posguard-replay-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const holdsPan = (text: string) => maskPansInText(text) !== text;
/** Every text in a JSON value, one by one. */
const textsOf = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : value !== null && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => [k, ...textsOf(v)]) : [];

const templates = [...registry(), purchase({ at: T0 }), outcome({ card: 'tok-alice', at: T0 + 3_600_000 })]
  .map((r) => JSON.parse(recordLine(r.kind, r.record)) as Record<string, unknown>);

const mangledLine = fc.constantFrom(...templates).chain((template) => fc.record({
  replaced: fc.dictionary(fc.constantFrom(...Object.keys(template).filter((k) => k !== 'type')), fc.oneof(fc.jsonValue(), pastedPan), { maxKeys: 2 }),
  extra: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.oneof(fc.string(), pastedPan), fc.jsonValue()) }),
}).map(({ replaced, extra }) => JSON.stringify({ ...template, ...replaced, ...(extra === null ? {} : { [extra[0]]: extra[1] }) })));

// One line each: a raw line break would make two.
const line = fc.oneof(fc.string(), fc.json(), mangledLine, mangledLine, mangledLine).map((l) => l.replace(/[\r\n\u2028\u2029]/g, ' '));

describe('replay under generated lines', () => {
  it('accounts for every line and writes no clear card number anywhere', async () => {
    const lines = fc.sample(line, fuzzRuns(30_000) as fc.Parameters<string>).filter((l) => l.trim() !== '');
    const input = join(dir, 'fuzz.jsonl');
    const [alerts, rejected] = [join(dir, 'alerts.jsonl'), join(dir, 'rejected.jsonl')];
    writeFileSync(input, `${[...templates.map((t) => JSON.stringify(t)), ...lines].join('\n')}\n`);
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
    const code = await main(['replay', '--input', input, '--alerts', alerts, '--rejected', rejected, '--max-rejected-share', '1']);
    vi.restoreAllMocks();
    expect(code, out).toBe(0);
    const read = templates.length + lines.length;
    const rejectedLines = readFileSync(rejected, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
    const summary = /read (\d+) lines: (\d+) accepted/.exec(out);
    expect(summary, out).not.toBeNull();
    expect(Number(summary![1])).toBe(read);
    expect(Number(summary![2]) + rejectedLines.length).toBe(read);
    for (const text of [...rejectedLines.flatMap(textsOf), ...readFileSync(alerts, 'utf8').split('\n').filter((l) => l !== '').flatMap((l) => textsOf(JSON.parse(l)))]) {
      expect(holdsPan(text), text).toBe(false);
    }
    console.log(`[replay fuzz] ${read} lines: ${Number(summary![2])} accepted, ${rejectedLines.length} rejected`);
  }, 120_000);
});
