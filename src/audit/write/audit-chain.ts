import { createHash } from 'node:crypto';
import { FIELD_NAMES, type ChainHead, type DetailValue, type Details, type EventBody, type EventDraft, type StoredEvent } from '../audit-event.js';
import type { AuditSigner } from './audit-signer.js';
import { canonicalJson } from './canonical-json.js';

/**
 * The hash chain. Each stored event carries `hash = SHA-256(prev_hash + "\n" + canonical(event))`
 * where `prev_hash` is the hash of the event before it (the first event links to `GENESIS_HASH`,
 * or to the retention anchor). The canonical form is JSON with sorted keys and no spaces, over
 * every column except `seq` and the chain columns themselves: `seq` is only a position, and the
 * order is proven by the links, so a moved row shows up as a broken link (reordered) rather than
 * as an edit.
 */
export const GENESIS_HASH = '0'.repeat(64);
/** Version 2 adds `receivedAt` (the write-ahead time); events sealed without one keep version 1. */
export const CANONICAL_VERSION = 2;

/** Longest stored text: ids, names and codes; prompt and answer text. Longer values are cut. */
const MAX_SHORT_TEXT = 512;
const MAX_LONG_TEXT = 16_384;
const LONG_TEXT_FIELDS = new Set(['promptText', 'answerText']);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const DECIMAL = /^-?\d{1,30}(?:\.\d{1,20})?$/;

/** The hashed top-level keys, sorted once (the same order `canonicalJson` would give). */
const CANONICAL_KEYS_V1 = ['v', 'id', 'type', 'recordedAt', ...FIELD_NAMES].sort();
const CANONICAL_KEYS_V2 = [...CANONICAL_KEYS_V1, 'receivedAt'].sort();

/** A body, with the time it was recorded when it has one. */
export type HashedBody = EventBody & { receivedAt?: Date | null };

/**
 * What the hash covers: the body and the times, never `seq` or the chain columns. Same bytes as
 * `canonicalJson` of those fields. With `receivedAt` (every event recorded through the inbox)
 * it is version 2; without, version 1 (events sealed before the inbox existed).
 */
export function canonicalEvent(event: HashedBody, recordedAt: Date): string {
  return canonicalAt(event, recordedAt.toISOString());
}

export function chainHash(prevHash: string, event: HashedBody, recordedAt: Date): string {
  return hashAt(prevHash, event, recordedAt.toISOString());
}

/** `"key":` with the `{` or `,` before it, per key: computed once (sealing hashes thousands of events a second). */
const PREFIXES_V1 = CANONICAL_KEYS_V1.map((key, i) => `${i === 0 ? '{' : ','}${JSON.stringify(key)}:`);
const PREFIXES_V2 = CANONICAL_KEYS_V2.map((key, i) => `${i === 0 ? '{' : ','}${JSON.stringify(key)}:`);

function canonicalAt(event: HashedBody, recordedIso: string): string {
  const receivedAt = event.receivedAt ?? null;
  const keys = receivedAt ? CANONICAL_KEYS_V2 : CANONICAL_KEYS_V1;
  const prefixes = receivedAt ? PREFIXES_V2 : PREFIXES_V1;
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    let json: string;
    if (key === 'v') json = receivedAt ? String(CANONICAL_VERSION) : '1';
    else if (key === 'recordedAt') json = JSON.stringify(recordedIso);
    else if (key === 'receivedAt') json = JSON.stringify(receivedAt!.toISOString());
    else {
      const value = (event as unknown as Record<string, unknown>)[key];
      // Fast paths with the same bytes as canonicalJson.
      json = value === null || value === undefined ? 'null' : typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value);
    }
    out += prefixes[i] + json;
  }
  return `${out}}`;
}

function hashAt(prevHash: string, event: HashedBody, recordedIso: string): string {
  return createHash('sha256')
    .update(`${prevHash}\n${canonicalAt(event, recordedIso)}`, 'utf8')
    .digest('hex');
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
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
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
export function linkEvents(head: ChainHead, bodies: HashedBody[], now: Date, signer: AuditSigner): StoredEvent[] {
  const recordedAt = head.recordedAt && head.recordedAt > now ? head.recordedAt : now;
  const recordedIso = recordedAt.toISOString();
  let prevHash = head.hash;
  let seq = head.seq;
  return bodies.map((body) => {
    seq += 1;
    const hash = hashAt(prevHash, body, recordedIso);
    const signed = signer.signEvent(hash);
    const stored: StoredEvent = {
      ...body,
      receivedAt: body.receivedAt ?? null,
      seq,
      recordedAt,
      prevHash,
      hash,
      keyId: signed?.keyId ?? null,
      signature: signed?.signature ?? null,
    };
    prevHash = hash;
    return stored;
  });
}
