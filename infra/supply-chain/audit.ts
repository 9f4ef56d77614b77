// `npm run audit`: check the lock file against an advisory source, or, where none answers (the
// machines posguard is built on reach only the npm registry's GET endpoints), check that the lock
// file is the one whose review docs/SECURITY.md records. A dependency change then fails until
// someone reviews it and records the new digest.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const REVIEW_LINE = /^Reviewed lock file: sha256:([0-9a-f]{64})/m;

export function lockFileDigest(): string {
  return createHash('sha256').update(readFileSync(`${root}package-lock.json`)).digest('hex');
}

export function reviewedLockFileDigest(): string {
  const recorded = REVIEW_LINE.exec(readFileSync(`${root}docs/SECURITY.md`, 'utf8'));
  if (!recorded) throw new Error('docs/SECURITY.md records no "Reviewed lock file: sha256:<hex>" line');
  return recorded[1]!;
}

type AdvisoryAnswer = { reached: true; vulnerabilities: number; report: string } | { reached: false; why: string };

function askAdvisorySource(): AdvisoryAnswer {
  const run = spawnSync('npm', ['audit', '--json', '--omit=dev'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  try {
    const answer = JSON.parse(run.stdout) as { error?: { summary?: string }; message?: string; metadata?: { vulnerabilities?: { total?: number } } };
    const total = answer.metadata?.vulnerabilities?.total;
    if (typeof total === 'number') return { reached: true, vulnerabilities: total, report: run.stdout };
    return { reached: false, why: answer.message || answer.error?.summary || 'no audit metadata in the answer' };
  } catch {
    return { reached: false, why: (run.stderr || run.error?.message || 'no answer').trim().split('\n').at(-1) ?? '' };
  }
}

function main(): number {
  const advisories = askAdvisorySource();
  if (advisories.reached) {
    console.log(`npm audit: ${advisories.vulnerabilities} known vulnerabilities in the production dependencies`);
    if (advisories.vulnerabilities > 0) console.log(advisories.report);
    return advisories.vulnerabilities > 0 ? 1 : 0;
  }
  console.log(`npm audit could not reach an advisory source (${advisories.why}); checking the recorded review instead`);
  const current = lockFileDigest();
  const reviewed = reviewedLockFileDigest();
  if (current !== reviewed) {
    console.error(
      `package-lock.json (sha256:${current}) is not the lock file reviewed in docs/SECURITY.md (sha256:${reviewed}): ` +
        'review the changed dependencies against their advisories and record the new digest there',
    );
    return 1;
  }
  console.log(`package-lock.json is the reviewed one (sha256:${current})`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main();
