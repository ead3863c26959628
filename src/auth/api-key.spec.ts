import { describe, expect, it } from '@jest/globals';
import { displayPrefix, generateApiKeySecret, hashApiKey, hasValidChecksum, isWellFormedApiKey } from './api-key.js';

describe('gateway keys', () => {
  it('are dgw_ + 40 base62 characters, unique, and well-formed', () => {
    const keys = new Set(Array.from({ length: 500 }, generateApiKeySecret));
    expect(keys.size).toBe(500);
    for (const key of keys) {
      expect(key).toMatch(/^dgw_[A-Za-z0-9]{40}$/);
      expect(isWellFormedApiKey(key)).toBe(true);
    }
  });

  it('hash deterministically and show only a short prefix', () => {
    const key = generateApiKeySecret();
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(displayPrefix(key)).toHaveLength(10);
  });

  it('rejects Dify keys and malformed values', () => {
    for (const bad of ['app-abcdefghijklmnopqrstuvwx', 'dgw_short', 'dgw_' + 'a'.repeat(31), 'dgw_' + 'a'.repeat(40) + '!', '']) {
      expect(isWellFormedApiKey(bad)).toBe(false);
    }
  });
});

describe('gateway key checksums', () => {
  it('every issued key carries a valid checksum; a changed character breaks it', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateApiKeySecret();
      expect(hasValidChecksum(key)).toBe(true);
      const last = key.at(-1) === 'A' ? 'B' : 'A';
      expect(hasValidChecksum(key.slice(0, -1) + last)).toBe(false);
      const first = key[4] === 'A' ? 'B' : 'A';
      expect(hasValidChecksum(key.slice(0, 4) + first + key.slice(5))).toBe(false);
    }
  });

  it('made-up keys almost never pass', () => {
    const made = Array.from({ length: 2000 }, () => 'dgw_' + generateApiKeySecret().slice(4, 38) + 'zzzzzz');
    expect(made.filter(hasValidChecksum).length).toBeLessThan(2);
    expect(hasValidChecksum('dgw_' + 'a'.repeat(32))).toBe(false);
  });
});
