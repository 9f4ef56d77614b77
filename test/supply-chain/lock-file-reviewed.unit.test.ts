/**
 * The lock file is the one whose review docs/SECURITY.md records: a changed dependency fails here
 * until its advisories are looked at and the new digest is recorded (`npm run audit` says how).
 */
import { describe, expect, it } from 'vitest';
import { lockFileDigest, reviewedLockFileDigest } from '../../infra/supply-chain/audit.ts';

describe('supply chain', () => {
  it('runs on the lock file whose dependencies were reviewed', () => {
    expect(lockFileDigest(), 'package-lock.json changed since the review in docs/SECURITY.md: run `npm run audit`').toBe(reviewedLockFileDigest());
  });
});
