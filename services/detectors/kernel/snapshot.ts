/**
 * Snapshots of a stage's whole state, so that a restart reads an amount proportional to the state
 * rather than to the history. The state is a tree of class instances (the stage, its detectors,
 * its event-time queue) holding plain data: Maps, Sets, arrays, plain objects and numbers. V8's
 * structured serialisation writes that data as it is, shared references and cycles included; it
 * does not keep prototypes nor functions. So `restoreSnapshot` grafts the data onto a freshly
 * constructed twin: where the twin holds a class instance, the snapshot's fields are grafted into
 * it (its prototype and its functions — a partitioner, say — stay, and so do frozen objects: the
 * thresholds it was built with); everything else is the snapshot's value.
 */
import { deserialize, serialize } from 'node:v8';

/**
 * The layout of the detector stages' state, as snapshots hold it. Change it with any change to the
 * fields a stage, a detector or the event-time queue keeps: a snapshot of an older layout would be
 * grafted onto the new classes field by field and leave the new fields empty, so it is not read.
 * 2: the queue's released key as two fields, population statistics per shard.
 * 3: a card's recent purchases record whether the card was buying fast.
 * 4: the cluster arbiter's candidates name the compromised cards of their reference visits.
 * 5: the card population keeps the spread of price levels between and within cards.
 * 6: a card is kept per acquirer that saw it, with the network-wide outcomes a later view takes.
 * 7: decisions: a card's spending, a terminal's confirmed fraud per day, the online model per terminal shard.
 */
export const detectorStateVersion = 'detectors-8';

const plainPrototypes = new Set<unknown>([Object.prototype, Array.prototype, Map.prototype, Set.prototype, null]);
const isClassInstance = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !plainPrototypes.has(Object.getPrototypeOf(value)) && !ArrayBuffer.isView(value);

/** The functions held by the class instances of the tree, which V8 cannot serialise. */
function functionsOf(root: object, found: { owner: Record<string, unknown>; key: string; fn: unknown }[] = [], seen = new Set<object>()): typeof found {
  if (seen.has(root)) return found;
  seen.add(root);
  for (const [key, value] of Object.entries(root)) {
    if (typeof value === 'function') found.push({ owner: root as Record<string, unknown>, key, fn: value });
    else if (isClassInstance(value)) functionsOf(value, found, seen);
  }
  return found;
}

/** Serialises the state tree under `root` (synchronously: nothing changes it meanwhile). */
export function takeSnapshot(root: object): Buffer {
  const functions = functionsOf(root);
  for (const f of functions) f.owner[f.key] = undefined;
  try {
    return serialize(root);
  } finally {
    for (const f of functions) f.owner[f.key] = f.fn;
  }
}

function graft(target: Record<string, unknown>, data: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(data)) {
    const current = target[key];
    // Functions and frozen objects (the thresholds) are the running version's code and configuration, not state.
    if (typeof current === 'function' || (typeof current === 'object' && current !== null && Object.isFrozen(current))) continue;
    if (isClassInstance(current) && typeof value === 'object' && value !== null) graft(current, value as Record<string, unknown>);
    else target[key] = value;
  }
}

/** Brings `fresh` (a newly constructed twin of the snapshotted root) to the snapshotted state. */
export function restoreSnapshot(fresh: object, snapshot: Buffer): void {
  graft(fresh as Record<string, unknown>, deserialize(snapshot) as Record<string, unknown>);
}
