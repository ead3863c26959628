import { createHash } from 'node:crypto';
import { FIELD_NAMES, type ChainHead, type DetailValue, type Details, type EventBody, type EventDraft, type StoredEvent } from './audit-event.js';
import type { AuditSigner } from './audit-signer.js';

/**
 * The hash chain. Each stored event carries `hash = SHA-256(prev_hash + "\n" + canonical(event))`
 * where `prev_hash` is the hash of the event before it (the first event links to `GENESIS_HASH`,
 * or to the retention anchor). The canonical form is JSON with sorted keys and no spaces, over
 * every column except `seq` and the chain columns themselves: `seq` is only a position, and the
 * order is proven by the links, so a moved row shows up as a broken link (reordered) rather than
 * as an edit.
 */
export const GENESIS_HASH = '0'.repeat(64);
export const CANONICAL_VERSION = 1;

/** Longest stored text: ids, names and codes; prompt and answer text. Longer values are cut. */
const MAX_SHORT_TEXT = 512;
const MAX_LONG_TEXT = 16_384;
const LONG_TEXT_FIELDS = new Set(['promptText', 'answerText']);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const DECIMAL = /^-?\d{1,30}(?:\.\d{1,20})?$/;

/**
 * Deeper values are hashed as this marker. Stored details come out of `redact()` (at most
 * REDACT_MAX_DEPTH deep), so real events never reach it; it only keeps the recursion bounded.
 */
const CANONICAL_MAX_DEPTH = 256;
const CANONICAL_TOO_DEEP = JSON.stringify('[Truncated]');

/** JSON with object keys sorted (recursively) and no whitespace: the same bytes for the same data. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (depth >= CANONICAL_MAX_DEPTH) return CANONICAL_TOO_DEEP;
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
}

/** The hashed top-level keys, sorted once (the same order `canonicalJson` would give). */
const CANONICAL_KEYS = ['v', 'id', 'type', 'recordedAt', ...FIELD_NAMES].sort();

/** What the hash covers: the body and the time, never `seq` or the chain columns. Same bytes as `canonicalJson` of those fields. */
export function canonicalEvent(event: EventBody, recordedAt: Date): string {
  const value = (key: string): unknown =>
    key === 'v' ? CANONICAL_VERSION : key === 'recordedAt' ? recordedAt.toISOString() : (event as unknown as Record<string, unknown>)[key];
  return `{${CANONICAL_KEYS.map((key) => `${JSON.stringify(key)}:${canonicalJson(value(key))}`).join(',')}}`;
}

export function chainHash(prevHash: string, event: EventBody, recordedAt: Date): string {
  return createHash('sha256').update(`${prevHash}\n${canonicalEvent(event, recordedAt)}`, 'utf8').digest('hex');
}

/**
 * Normalizes a draft into exactly what the database will hand back, so that the hash computed
 * now matches the hash recomputed later: absent fields become null, text loses NUL and other
 * control characters (Postgres refuses NUL) and lone surrogates, long text is cut, numbers that
 * are not integers and prices that are not decimals are dropped.
 */
export function toEventBody(draft: EventDraft): EventBody {
  const body = { id: draft.id, type: draft.type } as Record<string, unknown>;
  for (const name of FIELD_NAMES) {
    const value = draft[name];
    if (value === undefined || value === null) body[name] = null;
    else if (name === 'details') body[name] = cleanDetails(value as Details);
    else if (typeof value === 'number') body[name] = Number.isSafeInteger(value) && value >= -2_147_483_648 && value <= 2_147_483_647 ? value : null;
    else if (typeof value === 'string') body[name] = cleanText(value, LONG_TEXT_FIELDS.has(name) ? MAX_LONG_TEXT : MAX_SHORT_TEXT);
    else body[name] = null;
  }
  if (typeof body.totalPrice === 'string' && !DECIMAL.test(body.totalPrice)) body.totalPrice = null;
  return body as EventBody;
}

export function cleanText(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(LONE_SURROGATE, '\uFFFD').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function cleanDetails(details: Details): Details {
  const clean = (value: unknown, depth: number): DetailValue => {
    if (value === null || value === undefined || depth > 6) return null;
    if (typeof value === 'string') return cleanText(value, 2048);
    if (typeof value === 'boolean') return value;
    if (typeof value === 'number') return Number.isSafeInteger(value) ? value : String(value);
    if (Array.isArray(value)) return value.slice(0, 200).map((item) => clean(item, depth + 1));
    if (typeof value === 'object') {
      const out: Record<string, DetailValue> = {};
      for (const [k, v] of Object.entries(value)) if (v !== undefined) out[cleanText(k, 128)] = clean(v, depth + 1);
      return out;
    }
    return String(value);
  };
  return clean(details, 0) as Details;
}

/**
 * Links bodies after `head`: consecutive `seq`, each hash over the previous one, one time for the
 * whole batch (the database clock, never behind the head's time so that time and `seq` grow
 * together), and the signature of each hash when a key is configured.
 */
export function linkEvents(head: ChainHead, bodies: EventBody[], now: Date, signer: AuditSigner): StoredEvent[] {
  const recordedAt = head.recordedAt && head.recordedAt > now ? head.recordedAt : now;
  let prevHash = head.hash;
  let seq = head.seq;
  return bodies.map((body) => {
    seq += 1;
    const hash = chainHash(prevHash, body, recordedAt);
    const signed = signer.signEvent(hash);
    const stored: StoredEvent = { ...body, seq, recordedAt, prevHash, hash, keyId: signed?.keyId ?? null, signature: signed?.signature ?? null };
    prevHash = hash;
    return stored;
  });
}
