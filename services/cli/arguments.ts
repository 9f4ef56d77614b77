import { defaultGeneratorOptions, type GeneratorOptions } from '../generator/stream.ts';

/** Flag parsing shared by the commands: errors name the flag. */
export class UsageError extends Error {}

export function positiveInteger(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new UsageError(`${flag} must be a positive whole number, got "${raw}"`);
  return Number(raw);
}

/** The generator's flags (--seed, --days, --cards, --merchants), shared by demo, generate and bench. */
export const generatorFlags = {
  seed: { type: 'string' }, days: { type: 'string' }, cards: { type: 'string' }, merchants: { type: 'string' },
} as const;

export function generatorOptionsFrom(values: { seed?: string; days?: string; cards?: string; merchants?: string }): GeneratorOptions {
  return {
    ...defaultGeneratorOptions,
    seed: positiveInteger('--seed', values.seed, defaultGeneratorOptions.seed),
    days: positiveInteger('--days', values.days, defaultGeneratorOptions.days),
    cards: positiveInteger('--cards', values.cards, defaultGeneratorOptions.cards),
    merchants: positiveInteger('--merchants', values.merchants, defaultGeneratorOptions.merchants),
  };
}

export function shareBetweenZeroAndOne(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`${flag} must be a number from 0 to 1, got "${raw}"`);
  return value;
}

/** The recorded-stream flags shared by replay and backtest. */
export const recordedStreamFlags = {
  input: { type: 'string' }, profiles: { type: 'string' }, rejected: { type: 'string' },
  lenient: { type: 'boolean' }, 'max-rejected-share': { type: 'string' },
} as const;

export const recordedStreamUsage =
  'Each input line is one record in its JSON form with a "type" field (authorisation, merchant, terminal, outcome),\n' +
  'in event-time order; --profiles is read first. A line that is not valid is rejected and counted by reason\n' +
  '(with --rejected, written there with its reason); the command fails when more than --max-rejected-share\n' +
  '(default 0.01) of the lines are rejected. Unknown fields reject the line unless --lenient, which accepts it\n' +
  'and counts the field as a warning.';

export function recordedStreamOptionsFrom(values: {
  input?: string; profiles?: string; rejected?: string; lenient?: boolean; 'max-rejected-share'?: string;
}): { paths: string[]; lenient: boolean; maxRejectedShare: number; rejectedPath?: string } {
  if (values.input === undefined) throw new UsageError('--input <events.jsonl[.gz]> is required');
  return {
    paths: values.profiles === undefined ? [values.input] : [values.profiles, values.input],
    lenient: values.lenient === true,
    maxRejectedShare: shareBetweenZeroAndOne('--max-rejected-share', values['max-rejected-share'], 0.01),
    ...(values.rejected === undefined ? {} : { rejectedPath: values.rejected }),
  };
}
