import { createHash, randomBytes } from 'node:crypto';

/** Gateway keys: `dgw_` followed by base62 characters; only a SHA-256 hash is stored. */
export const API_KEY_PREFIX = 'dgw_';
const SECRET_LENGTH = 40; // 40 base62 characters ≈ 238 bits
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_FORMAT = /^dgw_[A-Za-z0-9]{32,128}$/;

export function generateApiKeySecret(): string {
  let out = API_KEY_PREFIX;
  while (out.length < API_KEY_PREFIX.length + SECRET_LENGTH) {
    for (const byte of randomBytes(64)) {
      // Rejection sampling keeps every character equally likely (248 = 4 * 62).
      if (byte < 248 && out.length < API_KEY_PREFIX.length + SECRET_LENGTH) out += BASE62[byte % 62];
    }
  }
  return out;
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
