import { describe, expect, it } from '@jest/globals';
import { displayPrefix, generateApiKeySecret, hashApiKey, isWellFormedApiKey } from './api-key.js';

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
