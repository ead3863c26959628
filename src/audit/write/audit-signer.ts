import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../config/secret.js';
import { canonicalJson } from './canonical-json.js';
import type { Checkpoint } from '../audit-event.js';

export interface Signature {
  keyId: string;
  signature: string;
}

/** `valid`; `invalid` (wrong signature); `missing` (none stored); `unknown_key` (signed with a key we do not hold). */
export type SignatureCheck = 'valid' | 'invalid' | 'missing' | 'unknown_key';

const EVENT_DOMAIN = 'dify-gateway/audit-event\n';
const CHECKPOINT_DOMAIN = 'dify-gateway/audit-checkpoint\n';

/**
 * HMAC-SHA256 signatures with keys read from a secret file (never from or into the database).
 * Every event's hash is signed, so rows cannot be forged or rewritten without the key; and so are
 * checkpoints. The first key signs; every key verifies, so keys can be rotated.
 */
export class AuditSigner {
  private readonly keys: { id: string; key: Secret }[];

  constructor(keys: readonly Secret[]) {
    this.keys = keys.map((key) => ({ id: keyIdOf(key), key }));
  }

  /** Whether records are signed (a key is configured). */
  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** The id of the signing key: a fingerprint that reveals nothing about the key. */
  get keyId(): string | null {
    return this.keys[0]?.id ?? null;
  }

  signEvent(hash: string): Signature | null {
    return this.sign(EVENT_DOMAIN + hash);
  }

  checkEvent(hash: string, keyId: string | null, signature: string | null): SignatureCheck {
    return this.check(EVENT_DOMAIN + hash, keyId, signature);
  }

  signCheckpoint(cp: Omit<Checkpoint, 'keyId' | 'signature'>): Signature | null {
    return this.sign(CHECKPOINT_DOMAIN + checkpointPayload(cp));
  }

  checkCheckpoint(cp: Checkpoint): SignatureCheck {
    return this.check(CHECKPOINT_DOMAIN + checkpointPayload(cp), cp.keyId, cp.signature);
  }

  private sign(message: string): Signature | null {
    const current = this.keys[0];
    if (!current) return null;
    return { keyId: current.id, signature: hmac(current.key, message) };
  }

  private check(message: string, keyId: string | null, signature: string | null): SignatureCheck {
    if (!signature || !keyId) return 'missing';
    const entry = this.keys.find((k) => k.id === keyId);
    if (!entry) return 'unknown_key';
    const expected = Buffer.from(hmac(entry.key, message), 'hex');
    const actual = Buffer.from(signature, 'hex');
    return actual.length === expected.length && timingSafeEqual(actual, expected) ? 'valid' : 'invalid';
  }
}

function hmac(key: Secret, message: string): string {
  return createHmac('sha256', key.reveal()).update(message, 'utf8').digest('hex');
}

function keyIdOf(key: Secret): string {
  return createHash('sha256').update(`dify-gateway/audit-key-id\n${key.reveal()}`, 'utf8').digest('hex').slice(0, 16);
}

function checkpointPayload(cp: Omit<Checkpoint, 'keyId' | 'signature'>): string {
  return canonicalJson({ id: cp.id, seq: cp.seq, hash: cp.hash, kind: cp.kind, createdAt: cp.createdAt.toISOString() });
}
