import { createHash, randomBytes } from 'node:crypto';

/**
 * Gateway keys: `dgw_` followed by 40 base62 characters, the last 6 a checksum of the rest, so a
 * made-up key is refused without a database read; only a SHA-256 hash is stored.
 */
export const API_KEY_PREFIX = 'dgw_';
const SECRET_LENGTH = 40;
const CHECKSUM_LENGTH = 6; // 34 random base62 characters ≈ 202 bits; 6 checksum characters ≈ 36 bits
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_FORMAT = /^dgw_[A-Za-z0-9]{32,128}$/;

export function generateApiKeySecret(): string {
  const randomLength = API_KEY_PREFIX.length + SECRET_LENGTH - CHECKSUM_LENGTH;
  let out = API_KEY_PREFIX;
  while (out.length < randomLength) {
    for (const byte of randomBytes(64)) {
      // Rejection sampling keeps every character equally likely (248 = 4 * 62).
      if (byte < 248 && out.length < randomLength) out += BASE62[byte % 62];
    }
  }
  return out + checksum(out);
}

/** Not a secret (anyone can compute it): it only tells typos and made-up keys from issued ones. */
function checksum(body: string): string {
  const digest = createHash('sha256').update('dgw-checksum\0').update(body, 'utf8').digest();
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) out += BASE62[digest[i] % 62];
  return out;
}

/** Whether the key ends with the checksum of the rest: every key issued since checksums exist does. */
export function hasValidChecksum(secret: string): boolean {
  if (secret.length !== API_KEY_PREFIX.length + SECRET_LENGTH) return false;
  const body = secret.slice(0, -CHECKSUM_LENGTH);
  return checksum(body) === secret.slice(-CHECKSUM_LENGTH);
}

export function isWellFormedApiKey(value: string): boolean {
  return KEY_FORMAT.test(value);
}

/**
 * A fast hash is enough here: the secret carries ~238 random bits, so there is nothing to
 * brute-force, and a per-request lookup must stay cheap.
 */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** What lists and logs show of a key: its prefix and first characters, never enough to use it. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, API_KEY_PREFIX.length + 6);
}
