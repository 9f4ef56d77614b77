import { describe, expect, it } from 'vitest';
import { isPosguardError } from '../../services/core/errors.ts';
import { defaultThresholds } from '../../services/detectors/thresholds.ts';
import { loadSettings } from '../../services/pipeline/settings.ts';

describe('the settings of a command', () => {
  it('read the services\' variables and the thresholds from one environment', () => {
    const { config, thresholds } = loadSettings({ POSGUARD_PARTITIONS: '5', POSGUARD_THRESHOLD_MAX_SPEED_KMH: '1000', POSGUARD_FAULT_SINK_CRASH_AFTER_INSERTS: '3' });
    expect(config.partitions).toBe(5);
    expect(config.faultSinkCrashAfterInserts).toBe(3);
    expect(thresholds).toEqual({ ...defaultThresholds, maxSpeedKmh: 1000 });
  });

  it('name every bad variable of either kind in one error', () => {
    let caught: unknown;
    try {
      loadSettings({ POSGUARD_PARTITIONS: 'many', POSGUARD_THRESHOLD_MAX_SPEED_KMH: 'fast', POSGUARD_THRESHOLD_CPP_ALPHA: '0.1' });
    } catch (error) {
      caught = error;
    }
    expect(isPosguardError(caught, 'POSGUARD_ERR_CONFIG_INVALID')).toBe(true);
    const message = (caught as Error).message;
    for (const name of ['POSGUARD_PARTITIONS', 'POSGUARD_THRESHOLD_MAX_SPEED_KMH', 'POSGUARD_THRESHOLD_CPP_ALPHA']) expect(message).toContain(`${name}:`);
    expect((caught as { details?: { variables?: string[] } }).details?.variables?.sort()).toEqual(['POSGUARD_PARTITIONS', 'POSGUARD_THRESHOLD_CPP_ALPHA', 'POSGUARD_THRESHOLD_MAX_SPEED_KMH']);
  });
});
