/**
 * Clear card numbers (PANs) must never be stored, logged or echoed. The policy, in the terms PCI DSS
 * scoping uses (docs/SECURITY.md "Card numbers"): a PAN is a Luhn-valid number of 13 to 19 digits
 * written in any of the forms people paste, and a record holding one anywhere is refused at every
 * door and kept only masked (first six, last four).
 *
 * Text is first read the way a person reads it: format characters (zero-width spaces, soft hyphens,
 * bidi marks) are dropped and every Unicode decimal digit (full-width `４１１１`, Arabic-Indic …) is
 * read as the ASCII digit it is. In that reading, a PAN is:
 * - the whole value of a field: 13–19 digits, optionally grouped by spaces or dashes;
 * - in free text (a value holding white space), 13–19 digits with single spaces or dashes anywhere;
 * - grouped in fours (4-6-5 or 4-6-4 for Amex and Diners) by one separator used throughout: one or
 *   two spaces, a no-break or other space, a tab, a newline, `-`, `.`, `_` or `/`;
 * - a run of digits set off by anything but a digit or a letter (`m-4111…`, `PAN:4111…`) when it
 *   starts as the schemes' numbers do: 15–19 digits starting 2–6, 13 starting 4, 14 starting 30,
 *   36, 38 or 39, or a 15-digit UATP number starting 1 (timestamps are 13 digits starting 1);
 * - a run glued to letters that cannot be hex digits (`tok4111…`) under the same rule;
 * - a run glued to a hex letter (`tok_a4111…`) only when it has 16 to 19 digits, a scheme's exact
 *   length for its prefix (Visa 16 or 19, Mastercard 16, Discover, JCB and UnionPay 16–19), and
 *   stands in a word of letters and digits shorter than 24: hex tokens hold Luhn-valid runs by
 *   chance (`tok_371139730032692c`, 15 digits that pass as an Amex number, from the generator), and
 *   a looser rule would refuse such a card's every authorisation;
 * - a JSON number shaped like one (one beyond 2^53 was rounded by the parser: its shape alone counts).
 * Object keys are searched like values.
 */
import { PosguardError } from './errors.ts';

/** A text as read for card numbers, with each of its characters' index in the original (absent when they are the same). */
interface DigitView {
  readonly text: string;
  readonly at?: readonly number[];
}

// Cf: format characters, invisible when the text is shown (U+200B, U+00AD, U+200E …).
const formatCharacter = /\p{Cf}/u;
const unicodeDigit = /\p{Nd}/u;

/** The value 0–9 of a Unicode decimal digit: the Nd characters come in contiguous runs of ten. */
function digitValue(codePoint: number): number {
  let start = codePoint;
  while (start > 0 && unicodeDigit.test(String.fromCodePoint(start - 1))) start--;
  return (codePoint - start) % 10;
}
const digitValues = new Map<number, string>();

/** One character as read for card numbers: dropped (''), a digit, its compatibility form (full-width punctuation), or itself. */
function readCharacter(ch: string): string {
  if (formatCharacter.test(ch)) return '';
  const codePoint = ch.codePointAt(0)!;
  if (unicodeDigit.test(ch)) {
    let digit = digitValues.get(codePoint);
    if (digit === undefined) digitValues.set(codePoint, (digit = String(digitValue(codePoint))));
    return digit;
  }
  const compatible = ch.normalize('NFKC');
  return compatible.length === 1 ? compatible : ch;
}

function digitView(text: string): DigitView {
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
  if (ascii) return { text };
  let read = '';
  const at: number[] = [];
  let i = 0;
  for (const ch of text) {
    const r = readCharacter(ch);
    for (let k = 0; k < r.length; k++) at.push(i);
    read += r;
    i += ch.length;
  }
  return { text: read, at };
}

/** Digit counts of the groupings people write: 4-4-4-1…4, 4-4-4-4-1…3, and Amex's and Diners' 4-6-5 and 4-6-4. */
const groupings: readonly (readonly [number, number][])[] = [
  [[4, 4], [4, 4], [4, 4], [1, 4]], [[4, 4], [4, 4], [4, 4], [4, 4], [1, 3]], [[4, 4], [6, 6], [4, 5]],
];
const isDigit = (c: number) => c >= 48 && c <= 57;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isHexLetter = (c: number) => (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

interface DigitRun {
  readonly start: number;
  readonly end: number;
}

/** The maximal runs of ASCII digits, in one pass. */
function digitRuns(text: string): DigitRun[] {
  const runs: DigitRun[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const digit = i < text.length && isDigit(text.charCodeAt(i));
    if (digit && start < 0) start = i;
    else if (!digit && start >= 0) {
      runs.push({ start, end: i });
      start = -1;
    }
  }
  return runs;
}

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

/** Shaped as the schemes' numbers start: the rule for a run set off by punctuation or non-hex letters. */
function schemeShaped(run: string): boolean {
  const n = run.length;
  const first = run.charCodeAt(0) - 48;
  if (n >= 15 && first >= 2 && first <= 6) return true;
  if (n === 13) return first === 4;
  if (n === 14) return /^3[0689]/.test(run);
  return n === 15 && first === 1;
}

/** A scheme's exact length for its prefix: the rule for a run glued to a hex letter. */
function schemeExact(run: string): boolean {
  const n = run.length;
  const prefix2 = Number(run.slice(0, 2));
  const prefix4 = Number(run.slice(0, 4));
  if (run[0] === '4') return n === 16 || n === 19;
  if ((prefix2 >= 51 && prefix2 <= 55) || (prefix4 >= 2221 && prefix4 <= 2720)) return n === 16;
  if (prefix2 === 34 || prefix2 === 37 || run[0] === '1') return n === 15;
  if (prefix4 === 6011 || prefix2 === 65 || prefix2 === 62 || (prefix4 >= 3528 && prefix4 <= 3589)) return n >= 16 && n <= 19;
  return false;
}

/** Hex tokens this long (hashes, HMACs) hold 16-digit runs by chance; a card number pasted into a short one is what the hex rule is for. */
const hashLikeWord = 24;

const isAlphanumeric = (c: number) => isDigit(c) || isLetter(c);

/** The length of the run of letters and digits around [start, end). */
function wordLength(text: string, start: number, end: number): number {
  const alnum = isAlphanumeric;
  let from = start;
  let to = end;
  while (from > 0 && alnum(text.charCodeAt(from - 1))) from--;
  while (to < text.length && alnum(text.charCodeAt(to))) to++;
  return to - from;
}

/** The rule for one run of digits by its neighbours: set off, glued to letters, or glued to a hex letter. */
function runIsPan(text: string, run: DigitRun): boolean {
  if (run.end - run.start < 13 || run.end - run.start > 19) return false;
  const digits = text.slice(run.start, run.end);
  if (!luhn(digits)) return false;
  const before = run.start > 0 ? text.charCodeAt(run.start - 1) : 0;
  const after = run.end < text.length ? text.charCodeAt(run.end) : 0;
  if (isHexLetter(before) || isHexLetter(after)) return digits.length >= 16 && schemeExact(digits) && wordLength(text, run.start, run.end) < hashLikeWord;
  return schemeShaped(digits) || ((isLetter(before) || isLetter(after)) && schemeExact(digits));
}

/** What may stand between the groups of a grouped number (the same throughout): one of these characters, two spaces, or CR LF. */
const separatorCodes = new Set([0x20, 0x09, 0x0a, 0xa0, 0x202f, 0x205f, 0x3000, 0x2212, 0x2e, 0x5f, 0x2f, 0x2d,
  ...Array.from({ length: 11 }, (_, k) => 0x2000 + k), ...Array.from({ length: 6 }, (_, k) => 0x2010 + k)]);

/**
 * Whether the text between two digit runs may join them into one number: a separator either rule
 * allows (a space or dash; a grouping's separator). Ids and hex tokens, whose runs are split by
 * letters, colons and the like, are spared the joining loop.
 */
function mayJoin(text: string, from: number, to: number): boolean {
  if (to - from === 1) return separatorCodes.has(text.charCodeAt(from));
  return to - from === 2 && ((text.charCodeAt(from) === 0x20 && text.charCodeAt(from + 1) === 0x20) || (text.charCodeAt(from) === 0x0d && text.charCodeAt(from + 1) === 0x0a));
}

/** Whether runs i..j, with the text between them, are a number written in groups. */
function groupedIsPan(text: string, runs: readonly DigitRun[], i: number, j: number, digits: string): boolean {
  if (!mayJoin(text, runs[i]!.end, runs[i + 1]!.start)) return false;
  const gap = text.slice(runs[i]!.end, runs[i + 1]!.start);
  for (let k = i + 1; k < j; k++) if (text.slice(runs[k]!.end, runs[k + 1]!.start) !== gap) return false;
  const lengths = runs.slice(i, j + 1).map((r) => r.end - r.start);
  const fits = groupings.some((g) => g.length === lengths.length && g.every(([min, max], k) => lengths[k]! >= min && lengths[k]! <= max));
  return fits && (schemeShaped(digits) || schemeExact(digits)) && luhn(digits);
}

/** Adds [start, end) unless it overlaps a span already found. */
function addSpan(spans: [number, number][], start: number, end: number): void {
  for (const [s, e] of spans) if (start < e && end > s) return;
  spans.push([start, end]);
}

/** The spans [start, end) of the card numbers in a view's text. */
function panSpans(text: string): [number, number][] {
  const runs = digitRuns(text);
  const spans: [number, number][] = [];
  // Free text (a value holding white space), or a whole value of digits: single spaces or dashes anywhere between digits.
  let freeText: boolean | undefined;
  for (let i = 0; i < runs.length; i++) {
    let digits = text.slice(runs[i]!.start, runs[i]!.end);
    for (let j = i + 1; j < runs.length && digits.length < 19; j++) {
      // Runs are joined only across separators, each gap of them: past one that is not, none can be.
      if (!mayJoin(text, runs[j - 1]!.end, runs[j]!.start)) break;
      freeText ??= /\s/.test(text.trim());
      digits += text.slice(runs[j]!.start, runs[j]!.end);
      if (digits.length < 13 || digits.length > 19) continue;
      const loose = (freeText || (i === 0 && j === runs.length - 1 && runs[0]!.start === 0 && runs[j]!.end === text.length))
        && runs.slice(i, j).every((r, k) => runs[i + k + 1]!.start - r.end === 1 && (text[r.end] === ' ' || text[r.end] === '-'));
      if ((loose && luhn(digits)) || groupedIsPan(text, runs, i, j, digits)) addSpan(spans, runs[i]!.start, runs[j]!.end);
    }
  }
  for (const run of runs) {
    const whole = run.start === 0 && run.end === text.length && run.end - run.start >= 13 && run.end - run.start <= 19;
    if ((whole && luhn(text)) || runIsPan(text, run)) addSpan(spans, run.start, run.end);
  }
  return spans;
}

/** Whether a text has the 13 ASCII digits a PAN needs (and, with `orBeyondAscii`, any character beyond ASCII, which may be a digit). */
function enoughDigits(text: string, orBeyondAscii: boolean): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80 && orBeyondAscii) return true;
    if (c >= 48 && c <= 57 && ++digits >= 13) return true;
  }
  return false;
}

/**
 * The text as read for card numbers, or undefined when it cannot hold one. Most values (ids,
 * tokens, codes) have fewer than 13 digits: this cheap count spares them the regular expressions,
 * since every record the enricher and the sink take is scanned.
 */
function candidateView(text: string): DigitView | undefined {
  if (!enoughDigits(text, true)) return undefined;
  const view = digitView(text);
  return view.at === undefined || enoughDigits(view.text, false) ? view : undefined;
}

function holdsPan(text: string): boolean {
  const view = candidateView(text);
  return view !== undefined && panSpans(view.text).length > 0;
}

/** The text with each card number replaced by its first six and last four digits around asterisks. */
export function maskPansInText(text: string): string {
  const view = candidateView(text);
  if (view === undefined) return text;
  const spans = panSpans(view.text).sort((a, b) => b[0] - a[0]);
  let masked = text;
  for (const [start, end] of spans) {
    const digits = view.text.slice(start, end).replace(/\D/g, '');
    const from = view.at?.[start] ?? start;
    const to = view.at === undefined ? end : view.at[end - 1]! + (text.codePointAt(view.at[end - 1]!)! > 0xffff ? 2 : 1);
    masked = `${masked.slice(0, from)}${digits.slice(0, 6)}${'*'.repeat(digits.length - 10)}${digits.slice(-4)}${masked.slice(to)}`;
  }
  return masked;
}

/** The digits of a JSON number shaped like a PAN, or undefined (a number needs 13 digits: timestamps start with 1, amounts are smaller). */
function panDigitsOfNumber(value: number | bigint): string | undefined {
  if (typeof value === 'number' && !(value >= 1e12 && Number.isInteger(value))) return undefined;
  // 13 digits are a PAN only starting with 4: every millisecond timestamp (they start with 1) leaves here, unconverted.
  if (typeof value === 'number' && value < 1e13 && (value < 4e12 || value >= 5e12)) return undefined;
  const digits = BigInt(value).toString();
  // Past 2^53 the parser already rounded the number: its Luhn digit is gone, its first digits are not.
  if (typeof value === 'number' && value > Number.MAX_SAFE_INTEGER) return /^[2-6]\d{14,18}$/.test(digits) ? digits : undefined;
  return luhn(digits) && schemeShaped(digits) ? digits : undefined;
}

/** Keys found to hold no PAN: a record's keys are mostly its schema's field names, the same every time. */
const panFreeKeys = new Set<string>();
const panFreeKeysMax = 10_000;
function rememberPanFree(key: string): void {
  // Bounded: keys a client chose (unknown fields) must not grow it without end.
  if (panFreeKeys.size < panFreeKeysMax) panFreeKeys.add(key);
}

/** The path (as segments) of the first field holding a clear PAN; the path is only built for a find. */
function panAt(value: unknown): (string | number)[] | undefined {
  if (typeof value === 'string') return holdsPan(value) ? [] : undefined;
  if (typeof value === 'number' || typeof value === 'bigint') return panDigitsOfNumber(value) === undefined ? undefined : [];
  // Bytes are opaque (a dead letter's original value is masked where the letter is made).
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = panAt(value[i]);
      if (found !== undefined) return [i, ...found];
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    // A key is text a client chose too (an unknown field named after a card number).
    if (!panFreeKeys.has(key)) {
      if (holdsPan(key)) return [maskPansInText(key)];
      rememberPanFree(key);
    }
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
    return typeof value === 'number' && value > Number.MAX_SAFE_INTEGER ? `${digits.slice(0, 6)}${'*'.repeat(digits.length - 6)}` : maskPansInText(digits);
  }
  if (typeof value === 'string') return maskPansInText(value);
  if (Buffer.isBuffer(value)) return maskPansInBytes(value);
  if (Array.isArray(value)) return value.map(maskClearPans);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [maskPansInText(k), maskClearPans(v)]));
  return value;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes of unknown form (a record's key or value that could not be read) with the card numbers
 * masked: read as UTF-8 where they are, else byte by byte, so that digits inside binary Avro count.
 */
export function maskPansInBytes(bytes: Buffer): Buffer {
  let text: string;
  let encoding: BufferEncoding = 'utf8';
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    text = bytes.toString('latin1');
    encoding = 'latin1';
  }
  const masked = maskPansInText(text);
  return masked === text ? bytes : Buffer.from(masked, encoding);
}
