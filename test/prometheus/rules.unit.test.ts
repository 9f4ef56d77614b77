/**
 * The alerting rules (infra/prometheus/rules.yml) pass `promtool check rules` and their unit tests
 * (`promtool test rules`, infra/prometheus/rules.test.yml); every alert has a test that expects it to
 * fire, a test that fails when the alert can no longer fire, and a runbook section.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../infra/prometheus/', import.meta.url).pathname;
const rules = readFileSync(join(dir, 'rules.yml'), 'utf8');
const tests = readFileSync(join(dir, 'rules.test.yml'), 'utf8');
const runbook = readFileSync(new URL('../../docs/RUNBOOK.md', import.meta.url), 'utf8');
const alerts = [...rules.matchAll(/^ {6}- alert: (\w+)$/gm)].map((m) => m[1]!);

/** Debian's promtool: installed with the prometheus package, or unpacked into the stack's cache. */
function promtool(): string {
  const found = ['/usr/bin/promtool', new URL('../../.cache/stack/prometheus-deb/usr/bin/promtool', import.meta.url).pathname].find((p) => existsSync(p));
  if (found === undefined) throw new Error('promtool not found: install Debian\'s prometheus package, or run npm run -s stack:fetch');
  return found;
}

const run = (args: string[], cwd: string) => {
  try {
    return { ok: true, output: execFileSync(promtool(), args, { cwd, encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
};

describe('the alerting rules', () => {
  it('are valid and pass their unit tests', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    const check = run(['check', 'rules', 'rules.yml'], dir);
    expect(check.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    const test = run(['test', 'rules', 'rules.test.yml'], dir);
    expect(test, test.output).toMatchObject({ ok: true });
  });

  it('each have a test expecting them to fire and a runbook section', () => {
    for (const alert of alerts) {
      expect(tests, alert).toMatch(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
      expect(runbook, alert).toContain(`## ${alert}`);
      expect(rules, alert).toContain(`runbook: docs/RUNBOOK.md#${alert.toLowerCase()}`);
    }
  });

  it('each have a test that fails when the alert can no longer fire', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'posguard-rules-'));
    writeFileSync(join(scratch, 'rules.test.yml'), tests);
    for (const alert of alerts) {
      // The alert's expression replaced by one that never holds.
      const silenced = rules.replace(new RegExp(`(- alert: ${alert}\\n(?:.*\\n)*?\\s+expr: )(\\|\\n(?:\\s{10}.*\\n)+|.*\\n)`), '$1vector(0) > 1\n');
      expect(silenced, alert).not.toBe(rules);
      writeFileSync(join(scratch, 'rules.yml'), silenced);
      // Still valid rules: the test must fail on the alert, not on the file.
      expect(run(['check', 'rules', 'rules.yml'], scratch).ok, alert).toBe(true);
      expect(run(['test', 'rules', 'rules.test.yml'], scratch).ok, `${alert} silenced, its test still passes`).toBe(false);
    }
  }, 180_000);
});
