/**
 * Clear card numbers (PANs) must never be stored or logged. A PAN here is 13–19 digits,
 * optionally grouped by spaces or dashes, that passes the Luhn check: what a mistaken client
 * would put where a token belongs. An identifier field is a PAN when its whole value is one; free
 * text (a value with spaces, such as a note) is searched for PANs inside it. Inside any value (a
 * JSON number too), a run of 15–19 digits set off by punctuation (`m-4111111111111111`,
 * `PAN:4111…`) is a PAN when it starts as the card schemes' numbers do (2–6) and passes the Luhn
 * check; so are the schemes' shorter numbers, 13 digits starting 4 and 14 starting 30, 36, 38 or
 * 39 (timestamps are 13 digits starting 1; other short runs are left alone, since one in ten random
 * digit strings passes Luhn). A run touching a letter counts only when that letter cannot be a hex
 * digit (`tok4111…` is a PAN; a hex token, `tok_c485006660019762`, holds Luhn-valid runs by chance:
 * seen in the generator's stream). A JSON integer beyond 2^53 shaped like a scheme's number has lost
 * digits on the way in; it is treated as a PAN, since its first digits are. Object keys are searched
 * like values.
 */
import { PosguardError } from './errors.ts';

const candidate = /(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)/g;
const wholeValue = /^(?:\d[ -]?){12,18}\d$/;
const gluedRun = /(?<![A-Za-z0-9])(?:[2-6]\d{14,18}|4\d{12}|3[0689]\d{12})(?![A-Za-z0-9])/g;
/** A scheme-shaped run between letters or digits; kept only when no neighbour is a digit or a hex letter. */
const wordRun = /(?<=[G-Zg-z])[2-6]\d{14,18}(?![0-9A-Fa-f])|(?<![0-9A-Fa-f])[2-6]\d{14,18}(?=[G-Zg-z])/g;
const schemeShaped = /^[2-6]\d{14,18}$/;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function pansIn(text: string): string[] {
  const found = /\s/.test(text.trim()) ? [...text.matchAll(candidate)].map((m) => m[0]) : wholeValue.test(text) ? [text] : [];
  const glued = gluedPans(text).filter((run) => !found.some((f) => f.includes(run)));
  return [...found, ...glued.filter((m) => !found.includes(m))].filter((m) => luhn(m.replace(/[ -]/g, '')));
}

/** Runs of digits shaped like a card scheme's number (timestamps and amounts are not: numbers are read this way only). */
function gluedPans(text: string): string[] {
  const runs = [...text.matchAll(gluedRun)].map((m) => m[0]);
  if (/[G-Zg-z]/.test(text)) runs.push(...[...text.matchAll(wordRun)].map((m) => m[0]));
  return runs.filter(luhn);
}

/** The digits of a JSON number shaped like a PAN, or undefined (a number needs 13 digits: timestamps start with 1, amounts are smaller). */
function panDigitsOfNumber(value: number | bigint): string | undefined {
  if (typeof value === 'number' && !(value >= 1e12 && Number.isInteger(value))) return undefined;
  const digits = BigInt(value).toString();
  // Past 2^53 the parser already rounded the number: its Luhn digit is gone, its first digits are not.
  if (typeof value === 'number' && value > Number.MAX_SAFE_INTEGER) return schemeShaped.test(digits) ? digits : undefined;
  return gluedPans(digits).length > 0 ? digits : undefined;
}

/**
 * Whether a text has the 13 digits a PAN needs. Most values (ids, tokens, codes) do not: this cheap
 * count spares them the regular expressions, since every record the enricher and the sink take is
 * scanned.
 */
function mayHoldPan(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++digits >= 13) return true;
  }
  return false;
}

/** The path (as segments) of the first field holding a clear PAN; the path is only built for a find. */
function panAt(value: unknown): (string | number)[] | undefined {
  if (typeof value === 'string') return mayHoldPan(value) && pansIn(value).length > 0 ? [] : undefined;
  if (typeof value === 'number' || typeof value === 'bigint') return panDigitsOfNumber(value) === undefined ? undefined : [];
  // Bytes are opaque (a dead letter's original value is already masked at its source).
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = panAt(value[i]);
      if (found !== undefined) return [i, ...found];
    }
    return undefined;
  }
  for (const key in value) {
    // A key is text a client chose too (an unknown field named after a card number).
    if (mayHoldPan(key) && pansIn(key).length > 0) return [maskClearPans(key) as string];
    const found = panAt((value as Record<string, unknown>)[key]);
    if (found !== undefined) return [key, ...found];
  }
  return undefined;
}

/** The path of the first field (string or number) holding a clear PAN, if any (`(body)` for the value itself). */
export function findClearPan(value: unknown): string | undefined {
  const segments = panAt(value);
  if (segments === undefined) return undefined;
  if (segments.length === 0) return '(body)';
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/**
 * Refuses a record produced straight to Kafka that holds a clear PAN: it must not reach the tables.
 * The error carries the record masked, for its dead letter (the original bytes would hold the PAN).
 */
export function refuseClearPans(value: unknown, topic: string): void {
  const path = findClearPan(value);
  if (path === undefined) return;
  throw new PosguardError('POSGUARD_ERR_RECORD_CLEAR_PAN', `${topic}: a clear card number was found in ${path}; the record is kept masked in the dead letters`, {
    topic, fieldErrors: [{ path, message: 'looks like a clear card number; send the token' }],
    maskedValue: Buffer.from(JSON.stringify(maskClearPans(value), (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v))),
  });
}

/** A copy with every clear PAN replaced by its first six and last four digits around asterisks. */
export function maskClearPans(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'bigint') {
    const digits = panDigitsOfNumber(value);
    if (digits === undefined) return value;
    // A rounded number's last four are the parser's, not the card's: only its first six are kept.
    return typeof value === 'number' && value > Number.MAX_SAFE_INTEGER ? `${digits.slice(0, 6)}${'*'.repeat(digits.length - 6)}` : maskClearPans(digits);
  }
  if (typeof value === 'string') {
    let masked = value;
    for (const pan of pansIn(value)) {
      const digits = pan.replace(/[ -]/g, '');
      masked = masked.replace(pan, `${digits.slice(0, 6)}${'*'.repeat(digits.length - 10)}${digits.slice(-4)}`);
    }
    return masked;
  }
  if (Array.isArray(value)) return value.map(maskClearPans);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [maskClearPans(k) as string, maskClearPans(v)]));
  return value;
}
