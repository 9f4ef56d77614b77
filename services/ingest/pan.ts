/**
 * Clear card numbers (PANs) must never be stored or logged. A PAN here is 13–19 digits,
 * optionally grouped by spaces or dashes, that passes the Luhn check: what a mistaken client
 * would put where a token belongs. An identifier field is a PAN when its whole value is one; free
 * text (a value with spaces, such as a note) is searched for PANs inside it. Identifiers that merely
 * contain digits (tok_4111…) are left alone.
 */
const candidate = /(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)/g;
const wholeValue = /^(?:\d[ -]?){12,18}\d$/;

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
  return found.filter((m) => luhn(m.replace(/[ -]/g, '')));
}

/** The path of the first string field holding a clear PAN, if any. */
export function findClearPan(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return pansIn(value).length > 0 ? path || '(body)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findClearPan(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const found = findClearPan(v, path === '' ? key : `${path}.${key}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** A copy with every clear PAN replaced by its first six and last four digits around asterisks. */
export function maskClearPans(value: unknown): unknown {
  if (typeof value === 'string') {
    let masked = value;
    for (const pan of pansIn(value)) {
      const digits = pan.replace(/[ -]/g, '');
      masked = masked.replace(pan, `${digits.slice(0, 6)}${'*'.repeat(digits.length - 10)}${digits.slice(-4)}`);
    }
    return masked;
  }
  if (Array.isArray(value)) return value.map(maskClearPans);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskClearPans(v)]));
  return value;
}
