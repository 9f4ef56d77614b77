/**
 * How often a stage sweeps state that has aged out of every window (cards, terminals, merchants
 * no longer seen): once per this many authorisations. A sweep walks the whole state, so it is
 * spread thin; the windows themselves already ignore what is past them, so the cadence bounds
 * memory, never changes a verdict. Counted in inputs, not in time: replay stays deterministic.
 */
export const evictionEveryAuthorisations = 50_000;
