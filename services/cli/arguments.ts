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
