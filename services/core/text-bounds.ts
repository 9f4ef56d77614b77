/**
 * Every text a client sends is bounded at the door, before anything reads it: a check, a hash or a
 * regular expression over a megabyte of one field would be unbounded work on the event loop, and
 * one acquirer's request would stall every other's. The fields' own, tighter limits (ids, names,
 * hashes) are semantic-validation.ts's; this is the ceiling for any string or object key.
 */
import type { FieldError } from './records.ts';

/** The longest string or object key any record may hold (a free-text note is the longest field). */
export const maxTextLength = 2_000;

/** How much of an oversized string a dead letter keeps: enough to recognise the record by. */
const keptInLetter = 256;

/** The first string or key longer than `limit`, as a field error; walked iteratively, without recursion. */
export function oversizedText(value: unknown, limit = maxTextLength): FieldError | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.length > limit) return { path: path === '' ? '(body)' : path, message: `must be at most ${limit} characters, got ${v.length}` };
      continue;
    }
    if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
      continue;
    }
    for (const key of Object.keys(v)) {
      if (key.length > limit) return { path: path === '' ? '(key)' : `${path}.(key)`, message: `a field name must be at most ${limit} characters, got ${key.length}` };
      stack.push([(v as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`]);
    }
  }
  return undefined;
}

/**
 * A string cut to what a dead letter or an answer keeps of it, saying how long it was. Digits at the
 * cut go too: they may be the start of a card number the cut split, which masking could then not see.
 */
export function cutText(text: string, keep = keptInLetter): string {
  if (text.length <= keep) return text;
  return `${text.slice(0, keep).replace(/[\p{Nd}\p{Cf}\s._/-]+$/u, '')}… (${text.length} characters)`;
}

/** A copy of a parsed value with every string and key cut to what a dead letter keeps. */
export function cutTexts(value: unknown): unknown {
  if (typeof value === 'string') return cutText(value);
  if (Array.isArray(value)) return value.map(cutTexts);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [cutText(k), cutTexts(v)]));
  }
  return value;
}
