import { describe, expect, it } from '@jest/globals';
import { ApiKeyCache } from './api-key.cache.js';
import type { ApiKeyMatch } from './api-key.repository.js';

const match = (id: string): ApiKeyMatch => ({ matched: 'current', record: { id } as ApiKeyMatch['record'] });

describe('ApiKeyCache', () => {
  it('keeps answers, unknown keys included, for the TTL', () => {
    let now = 1_000;
    const cache = new ApiKeyCache(100, 10, () => now);
    cache.set('h1', match('k1'), cache.begin());
    cache.set('h2', null, cache.begin());
    expect(cache.get('h1')).toEqual(match('k1'));
    expect(cache.get('h2')).toBeNull();
    expect(cache.get('h3')).toBeUndefined();
    now += 100;
    expect(cache.get('h1')).toBeUndefined();
  });

  it('drops both secrets of a key on invalidate, or everything for *', () => {
    const cache = new ApiKeyCache(60_000);
    cache.set('old', { ...match('k1'), matched: 'previous' }, cache.begin());
    cache.set('new', match('k1'), cache.begin());
    cache.set('other', match('k2'), cache.begin());
    cache.invalidate('k1');
    expect([cache.get('old'), cache.get('new'), cache.get('other')]).toEqual([undefined, undefined, match('k2')]);
    cache.invalidate('*');
    expect(cache.size).toBe(0);
  });

  it('does not store a lookup that started before an invalidation (it may be stale)', () => {
    const cache = new ApiKeyCache(60_000);
    const token = cache.begin();
    cache.invalidate('k1'); // the key was revoked while the database read was in flight
    cache.set('h1', match('k1'), token);
    expect(cache.get('h1')).toBeUndefined();
  });

  it('stays bounded, forgetting the oldest first; a TTL of 0 caches nothing', () => {
    const cache = new ApiKeyCache(60_000, 3);
    for (const h of ['a', 'b', 'c', 'd']) cache.set(h, match(h), cache.begin());
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    const off = new ApiKeyCache(0);
    off.set('a', match('a'), off.begin());
    expect(off.get('a')).toBeUndefined();
  });
});
