/**
 * The layout of a state tree as text: every class the tree holds and, for each field, the shape of
 * what it holds — a value, or a Map, Set, array or plain object with the shape of its entries or
 * fields, merged over every instance and entry seen. A snapshot grafts fields by name onto freshly
 * built detectors, so a change here is a change of the snapshots' layout: the detector stages'
 * layout is kept beside `detectorStateVersion` (detectors/state-layout.txt), and a test fails when
 * the running code's differs — the version changes with it, and the diff shows how.
 */

interface Shape {
  /** 'value' (number, string, boolean), 'Map', 'Set', 'Array', 'object', a class name, or a typed array's. */
  kinds: Set<string>;
  fields: Map<string, Shape>;
  keys?: Shape;
  entries?: Shape;
}

const newShape = (): Shape => ({ kinds: new Set(), fields: new Map() });
const plainPrototypes = new Set<unknown>([Object.prototype, null]);
/** Entries looked at per Map, Set or array: their shapes repeat, and the state holds millions. */
const sample = 32;

function* first<T>(values: Iterable<T>): Iterable<T> {
  let n = 0;
  for (const v of values) {
    if (n++ >= sample) return;
    yield v;
  }
}

class LayoutWalker {
  readonly classes = new Map<string, Map<string, Shape>>();
  private readonly visited = new Set<object>();

  /** `named`: objects shown by a name instead of their fields (configuration the tree refers to). */
  constructor(private readonly named: ReadonlyMap<object, string>) {}

  /** Adds what `value` holds to `shape`; absent values (null, undefined) add nothing. */
  add(shape: Shape, value: unknown, depth = 0): void {
    if (value === null || value === undefined || typeof value === 'function') return;
    if (typeof value !== 'object') {
      shape.kinds.add('value');
      return;
    }
    const name = this.named.get(value) ?? (ArrayBuffer.isView(value) ? value.constructor.name : undefined);
    if (name !== undefined) {
      shape.kinds.add(name);
      return;
    }
    if (depth > 8) return;
    if (value instanceof Map || value instanceof Set || Array.isArray(value)) {
      shape.kinds.add(value instanceof Map ? 'Map' : value instanceof Set ? 'Set' : 'Array');
      if (value instanceof Map) {
        shape.keys ??= newShape();
        for (const k of first(value.keys())) this.add(shape.keys, k, depth + 1);
      }
      shape.entries ??= newShape();
      for (const v of first(value instanceof Map ? value.values() : value)) this.add(shape.entries, v, depth + 1);
      return;
    }
    if (plainPrototypes.has(Object.getPrototypeOf(value))) {
      shape.kinds.add('object');
      for (const [k, v] of Object.entries(value)) {
        const field = shape.fields.get(k) ?? newShape();
        shape.fields.set(k, field);
        this.add(field, v, depth + 1);
      }
      return;
    }
    shape.kinds.add(value.constructor.name);
    this.walk(value);
  }

  walk(instance: object): void {
    if (this.visited.has(instance)) return;
    this.visited.add(instance);
    const fields = this.classes.get(instance.constructor.name) ?? new Map<string, Shape>();
    this.classes.set(instance.constructor.name, fields);
    for (const [key, value] of Object.entries(instance)) {
      if (typeof value === 'function') continue;
      const shape = fields.get(key) ?? newShape();
      fields.set(key, shape);
      this.add(shape, value);
    }
  }
}

function describe(shape: Shape): string {
  const parts = [...shape.kinds].sort().map((kind) => {
    if (kind === 'Map') return `Map<${shape.keys === undefined ? '?' : describe(shape.keys)}, ${shape.entries === undefined ? '?' : describe(shape.entries)}>`;
    if (kind === 'Set' || kind === 'Array') return `${kind}<${shape.entries === undefined ? '?' : describe(shape.entries)}>`;
    if (kind === 'object') return `{ ${[...shape.fields].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${describe(v)}`).join('; ')} }`;
    return kind;
  });
  return parts.length === 0 ? '?' : parts.join(' | ');
}

/** The layout of the state under `roots`, one class per paragraph, fields sorted; `?` where nothing was seen. */
export function stateLayout(roots: readonly object[], named: ReadonlyMap<object, string> = new Map()): string {
  const walker = new LayoutWalker(named);
  for (const root of roots) walker.walk(root);
  return [...walker.classes].sort(([a], [b]) => a.localeCompare(b)).map(([name, fields]) =>
    [name, ...[...fields].sort(([a], [b]) => a.localeCompare(b)).map(([field, shape]) => `  ${field}: ${describe(shape)}`)].join('\n'),
  ).join('\n\n') + '\n';
}
