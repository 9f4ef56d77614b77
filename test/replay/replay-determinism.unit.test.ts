import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../services/cli/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'posguard-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('replay', () => {
  it('gives byte-identical alerts when the same log is replayed twice, and rejects malformed lines with reasons', async () => {
    const input = join(dir, 'stream.jsonl.gz');
    expect(await main(['generate', '--out', input, '--seed', '11', '--days', '12', '--cards', '2000', '--merchants', '150'])).toBe(0);
    expect(await main(['replay', '--input', input, '--alerts', join(dir, 'a.jsonl'), '--rejected', join(dir, 'rejected.jsonl')])).toBe(0);
    expect(await main(['replay', '--input', input, '--alerts', join(dir, 'b.jsonl')])).toBe(0);

    const first = readFileSync(join(dir, 'a.jsonl'));
    expect(first.length).toBeGreaterThan(0);
    expect(first.equals(readFileSync(join(dir, 'b.jsonl')))).toBe(true);
    const alerts = first.toString().trim().split('\n').map((l) => JSON.parse(l) as { alertId: string; emittedAt: number; detectedAt: number });
    expect(new Set(alerts.map((a) => a.alertId)).size).toBe(alerts.length);
    expect(alerts.every((a) => a.emittedAt === a.detectedAt)).toBe(true);

    const rejected = readFileSync(join(dir, 'rejected.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { error: string; fieldErrors: unknown[] });
    expect(rejected).toHaveLength(25);
    expect(rejected.every((r) => r.error.startsWith('not a valid AuthorisationEvent') && r.fieldErrors.length > 0)).toBe(true);
  }, 120_000);
});
