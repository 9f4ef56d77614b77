/**
 * Everything a command is configured by — the services' variables (core/config/config.ts) and the
 * detector thresholds (detectors/thresholds.ts) — read from one environment and validated
 * together, so one error names every bad variable of either kind.
 */
import { loadConfig, type PosguardConfig } from '../core/config/config.ts';
import { isPosguardError, PosguardError } from '../core/errors.ts';
import { thresholdsFromEnv, type Thresholds } from '../detectors/thresholds.ts';

export interface Settings {
  readonly config: PosguardConfig;
  readonly thresholds: Thresholds;
}

type Environment = Readonly<Record<string, string | undefined>>;

/** The refusal's lines (after "Invalid configuration:"), or rethrows anything else. */
function invalidLines(error: unknown): string[] {
  if (!isPosguardError(error) || error.code !== 'POSGUARD_ERR_CONFIG_INVALID') throw error;
  return error.message.split('\n').slice(1);
}

export function loadSettings(env: Environment = process.env): Settings {
  const problems: string[] = [];
  let config: PosguardConfig | undefined;
  let thresholds: Thresholds | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    problems.push(...invalidLines(error));
  }
  try {
    thresholds = thresholdsFromEnv(env);
  } catch (error) {
    problems.push(...invalidLines(error));
  }
  if (config === undefined || thresholds === undefined) {
    throw new PosguardError('POSGUARD_ERR_CONFIG_INVALID', `Invalid configuration:\n${problems.join('\n')}`,
      { variables: problems.map((p) => p.trim().slice(0, p.trim().indexOf(':'))) });
  }
  return { config, thresholds };
}
