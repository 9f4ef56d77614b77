/**
 * One seed and one scale for every property-based test. The seed is fixed, so a run in CI repeats
 * exactly; `POSGUARD_FUZZ_SEED` tries another, and `POSGUARD_FUZZ_SCALE` multiplies every test's
 * case count for a longer run (docs/SECURITY.md gives the command). A failure prints the seed and
 * the shrunk case.
 */
import fc from 'fast-check';

export const fuzzSeed = Number(process.env.POSGUARD_FUZZ_SEED ?? 20261207);
const scale = Number(process.env.POSGUARD_FUZZ_SCALE ?? 1);

/** fast-check's run parameters for `cases` cases at scale 1. */
export const fuzzRuns = (cases: number): fc.Parameters<unknown> => ({ numRuns: Math.max(1, Math.round(cases * scale)), seed: fuzzSeed });

/** A card number in the forms people paste it: grouped, split by odd spaces, full-width, glued to text. */
export const pastedPan = fc.tuple(
  fc.constantFrom('4111111111111111', '5555555555554444', '378282246310005', '135410014004955', '6011111111111117'),
  fc.constantFrom('', ' ', '-', '.', '_', '/', '\u00a0', '\u200b', '\n', '  '),
  fc.constantFrom('', 'card ', 'm-', 'PAN:', 'tok_a'),
  fc.boolean(),
).map(([pan, separator, prefix, fullWidth]) => {
  const grouped = pan.length === 15 ? [pan.slice(0, 4), pan.slice(4, 10), pan.slice(10)] : pan.match(/.{1,4}/g)!;
  const text = grouped.join(separator);
  return prefix + (fullWidth ? [...text].map((c) => (/\d/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('') : text);
});
