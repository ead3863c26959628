import { EventEmitter } from 'node:events';

/**
 * The single masking helper: everything the gateway writes (logs, error bodies, audit rows,
 * metric labels) goes through it. It masks by key name and by value pattern: credentials (Dify
 * `app-`/`dataset-` keys, gateway `dgw_` keys, bearer and basic credentials, JWTs, URL
 * credentials, `password=…` pairs) and personal data in free text (e-mail addresses, phone
 * numbers, card numbers that pass the Luhn check, IBANs that pass the mod-97 check).
 */
export const MASK = '***';

// `token(?!s)`: mask `access_token`, `form_token`, but keep usage counts such as `total_tokens`.
const SENSITIVE_KEY = /authorization|cookie|api[-_]?key|token(?!s)|secret|passw(?:or)?d|credential|session/i;

type Replacer = (match: string, ...groups: string[]) => string;

/**
 * A secret starts at a word boundary, or right after an escaped line break or tab (`\n` in JSON
 * text inside a string: `{"m":"\npassword=…"}` has no boundary before `password`).
 */
const START = String.raw`(?:\b|(?<=\\[nrt]))`;
const secret = (source: string, flags: string) => new RegExp(START + source, flags);

const SECRET_PATTERNS: Array<[RegExp, Replacer]> = [
  [secret(String.raw`(?:app|dataset)-[A-Za-z0-9]{8,}\b`, 'g'), () => MASK], // Dify app and knowledge keys
  [secret(String.raw`dgw_[A-Za-z0-9]{8,}\b`, 'g'), () => MASK], // gateway keys
  [secret(String.raw`Bearer\s+[^\s"',;]+`, 'gi'), () => MASK], // bearer credentials anywhere in text
  [secret(String.raw`Basic\s+[A-Za-z0-9+/=]{8,}`, 'g'), () => MASK], // basic credentials
  [secret(String.raw`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`, 'g'), () => MASK], // JWTs
  [/(\/\/)[^/@\s:]+:[^/@\s]+@/g, () => `//${MASK}@`], // credentials inside URLs
  // `password=…`, `client_secret=…`, `"api_key": "…"`, `Cookie: …` written out in free text, also as JSON inside a
  // JSON string (`\"password\":\"…\"`): quotes may be escaped, and the value ends at one.
  [
    secret(
      String.raw`([\w-]*?(?:authorization|cookie|api[-_]?key|apikey|token(?!s)|secret|passw(?:or)?d|credential|session)[\w-]*(?:\\*["'])?\s*[:=]\s*(?:\\*["'])?)((?:\\(?!\\*["'])|[^\s"',;&\\])+)`,
      'gi',
    ),
    (_m, name: string) => `${name}${MASK}`,
  ],
];

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?\b/g;
// Digits with the separators people type; never inside a word, a UUID or a decimal number.
const CARD = /(?<![\w.+-])[2-6](?:[ -]?\d){12,18}(?![\w-])/g;
const PHONE = /(?<![\w.+-])(?:\+|\b00)?\(?\d[\d ().-]{6,22}\d(?![\w-])/g;

/**
 * Every secret pattern needs one of these: `-` (app-, dataset-), `_` (dgw_), `:` or `=` (a named
 * value), `@` (URL credentials), `Bearer`, `Basic`, `eyJ` (JWTs). Text without any (most labels
 * and log values) skips the seven passes: one test instead of seven replaces on the hot path.
 */
const SECRET_MARK = /[-_:=@]|bearer|basic|eyJ/i;

/** Masks secrets and personal data inside free text. */
export function redactText(text: string): string {
  let out = text;
  if (SECRET_MARK.test(out)) for (const [pattern, replace] of SECRET_PATTERNS) out = out.replace(pattern, replace as (m: string) => string);
  if (!/\d|@/.test(out)) return out; // personal-data patterns all need a digit or an @
  out = out.replace(EMAIL, '[email]');
  out = out.replace(IBAN, (m) => (isIban(m) ? '[iban]' : m));
  out = out.replace(CARD, (m) => (isLuhn(m.replace(/[ -]/g, '')) ? '[card]' : m));
  out = out.replace(PHONE, (m) => (isPhone(m) ? '[phone]' : m));
  return out;
}

/** Beyond this depth a value is replaced by TRUNCATED: far below the stack limit, far above any real log object. */
export const REDACT_MAX_DEPTH = 100;
/** Values visited per call: bounds the work of one call whatever it is given (huge arrays, wide objects). */
export const REDACT_MAX_VALUES = 20_000;
export const TRUNCATED = '[Truncated]';
const UNREADABLE = '[Unreadable]';

interface Walk {
  seen: WeakSet<object>;
  budget: number;
}

/**
 * Returns a deep copy of `value` with sensitive keys and secret-looking keys and values masked.
 * Never throws: depth and total work are bounded (TRUNCATED beyond), cycles become
 * `[Circular]`, and values that throw when read (getters, Proxies) become `[Unreadable]`.
 */
export function redact<T>(value: T): T {
  return redactValue(value, 0, { seen: new WeakSet(), budget: REDACT_MAX_VALUES }) as T;
}

function redactValue(value: unknown, depth: number, walk: Walk): unknown {
  if (--walk.budget < 0) return TRUNCATED;
  try {
    if (typeof value === 'string') return redactText(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= REDACT_MAX_DEPTH) return TRUNCATED;
    if (walk.seen.has(value)) return '[Circular]';
    walk.seen.add(value);
    if (Array.isArray(value)) return redactArray(value, depth, walk);
    if (value instanceof Error) return { name: redactText(String(value.name)), message: redactText(String(value.message)) };
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
    // Requests, responses, sockets, streams: framework objects are named, never walked.
    if (value instanceof EventEmitter) return `[${value.constructor.name}]`;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      if (walk.budget <= 0) {
        out[TRUNCATED] = TRUNCATED;
        break;
      }
      // Keys are text too: a secret can be written as a key (`{"password=hunter2": 1}`).
      out[redactText(key)] = SENSITIVE_KEY.test(key) ? MASK : redactValue(readMember(value, key), depth + 1, walk);
    }
    return out;
  } catch {
    return UNREADABLE;
  }
}

function redactArray(items: unknown[], depth: number, walk: Walk): unknown[] {
  const out: unknown[] = [];
  const length = items.length;
  for (let i = 0; i < length; i++) {
    if (walk.budget <= 0) {
      out.push(TRUNCATED);
      break;
    }
    out.push(redactValue(readMember(items, i), depth + 1, walk));
  }
  return out;
}

/** A member whose getter throws is unreadable, not a reason to fail the whole value. */
function readMember(container: object, key: string | number): unknown {
  try {
    return (container as Record<string | number, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

/** Whether a header or field name is one whose value must never be written anywhere. */
export function isSensitiveKey(name: string): boolean {
  return SENSITIVE_KEY.test(name);
}

/** Luhn check over a string of 13 to 19 digits. */
export function isLuhn(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits) || /^(\d)\1+$/.test(digits)) return false;
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

/** ISO 13616: 15 to 34 characters whose rearranged digits are 1 modulo 97. */
export function isIban(candidate: string): boolean {
  const iban = candidate.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/**
 * A phone number as people write them: international (`+`/`00`) with 8 to 15 digits, or national
 * with 9 to 15 digits that either start with the trunk `0` or are grouped by separators. Dates,
 * times, IP addresses, decimals and bare counters or timestamps are not phone numbers.
 */
function isPhone(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '');
  if (/^\d{4}-\d{2}-\d{2}/.test(candidate) || /^\d+(?:\.\d+){1,3}$/.test(candidate)) return false;
  if (candidate.startsWith('+') || candidate.startsWith('00')) return digits.length >= 8 && digits.length <= 15;
  if (digits.length < 9 || digits.length > 15) return false;
  if (/^\d+$/.test(candidate)) return candidate.startsWith('0') && digits.length <= 11;
  // Grouped: every group is 2 to 5 digits (so 1234567 890 is not taken for a phone number).
  const groups = candidate.split(/[ ().-]+/).filter(Boolean);
  return groups.length >= 2 && groups.every((g) => g.length >= 2 && g.length <= 5);
}
