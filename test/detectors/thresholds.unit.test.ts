import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPosguardError } from '../../services/core/errors.ts';
import { severityOf } from '../../services/detectors/kernel/alert.ts';
import { toAlert } from '../../services/detectors/kernel/alert.ts';
import { thresholdsVersion, defaultThresholds, envNameOf, thresholdSpecs, thresholdsFromEnv, type ThresholdName } from '../../services/detectors/thresholds.ts';

describe('detector thresholds', () => {
  it('default to the documented values and take overrides from POSGUARD_THRESHOLD_* variables', () => {
    expect(thresholdsFromEnv({})).toEqual(defaultThresholds);
    expect(thresholdsFromEnv({ POSGUARD_THRESHOLD_MAX_SPEED_KMH: '1000' }).maxSpeedKmh).toBe(1000);
  });

  it('set the severity bands of alerts', () => {
    expect([0.95, 0.8, 0.6, 0.3].map((score) => severityOf(score, defaultThresholds))).toEqual(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']);
    const stricter = thresholdsFromEnv({ POSGUARD_THRESHOLD_ALERT_CRITICAL_SCORE: '0.97', POSGUARD_THRESHOLD_ALERT_HIGH_SCORE: '0.9' });
    expect([0.95, 0.8, 0.6].map((score) => severityOf(score, stricter))).toEqual(['HIGH', 'MEDIUM', 'MEDIUM']);
  });

  it('are versioned by their values, and every alert names the version that raised it', () => {
    const same = thresholdsFromEnv({ POSGUARD_THRESHOLD_MAX_SPEED_KMH: String(defaultThresholds.maxSpeedKmh) });
    const other = thresholdsFromEnv({ POSGUARD_THRESHOLD_MAX_SPEED_KMH: '1000' });
    expect(thresholdsVersion(defaultThresholds)).toMatch(/^t-[0-9a-f]{12}$/);
    expect(thresholdsVersion(same)).toBe(thresholdsVersion(defaultThresholds));
    expect(thresholdsVersion(other)).not.toBe(thresholdsVersion(defaultThresholds));
    const verdict = { detector: 'd', detectorVersion: '1', subjectType: 'CARD' as const, subjectId: 's', windowStart: 0, windowEnd: 1, score: 0.8,
      evidenceEventIds: [], reasonCodes: [], explanation: '', measurements: {}, detectedAt: 1 };
    expect(toAlert(verdict, other).thresholdsVersion).toBe(thresholdsVersion(other));
  });

  it('stop start-up on a malformed value, naming the variable', () => {
    let error: unknown;
    try {
      thresholdsFromEnv({ POSGUARD_THRESHOLD_CPP_FALSE_DISCOVERY_RATE: 'tiny' });
    } catch (e) {
      error = e;
    }
    expect(isPosguardError(error, 'POSGUARD_ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('POSGUARD_THRESHOLD_CPP_FALSE_DISCOVERY_RATE: "tiny" is not a non-negative number');
  });

  it('refuse a POSGUARD_THRESHOLD_* variable that names no threshold (a typo, or one retired)', () => {
    expect(() => thresholdsFromEnv({ POSGUARD_THRESHOLD_CPP_ALPHA: '0.001' })).toThrow(/POSGUARD_THRESHOLD_CPP_ALPHA: no such threshold/);
  });

  it('are each documented in docs/DETECTORS.md with their variable and default', () => {
    const doc = readFileSync(new URL('../../docs/DETECTORS.md', import.meta.url), 'utf8');
    for (const name of Object.keys(thresholdSpecs) as ThresholdName[]) {
      expect(doc, name).toContain(`| \`${name}\` | \`${envNameOf(name)}\` | ${thresholdSpecs[name].default} |`);
    }
  });
});
