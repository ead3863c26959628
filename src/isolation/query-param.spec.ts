import { describe, expect, it } from '@jest/globals';
import { GatewayError } from '../common/gateway-error.js';
import { queryParam, rewriteQueryParam } from './query-param.js';

const ns = (v: string | undefined) => `t:${v ?? 'DEFAULT-USER'}`;

describe('rewriteQueryParam', () => {
  it('rewrites the parameter and keeps the others byte for byte', () => {
    expect(rewriteQueryParam('limit=20&user=alice&first_id=&pinned', 'user', ns)).toBe('limit=20&user=t%3Aalice&first_id=&pinned');
    expect(rewriteQueryParam('a=%7E&user=al%20ice+b', 'user', ns)).toBe('a=%7E&user=t%3Aal%20ice%20b');
  });

  it('rewrites every occurrence, including an encoded name', () => {
    expect(rewriteQueryParam('user=a&%75ser=b', 'user', ns)).toBe('user=t%3Aa&%75ser=t%3Ab');
  });

  it('adds the parameter when it is absent, unless the rewrite says not to', () => {
    expect(rewriteQueryParam('', 'user', ns)).toBe('user=t%3ADEFAULT-USER');
    expect(rewriteQueryParam('limit=5', 'user', ns)).toBe('limit=5&user=t%3ADEFAULT-USER');
    expect(rewriteQueryParam('limit=5', 'user', () => undefined)).toBe('limit=5');
    expect(rewriteQueryParam('user=&x=1', 'user', ns)).toBe('user=t%3A&x=1');
  });

  it('refuses malformed percent-encoding as a 400', () => {
    expect(() => rewriteQueryParam('user=%E0%A4%A', 'user', ns)).toThrow(GatewayError);
  });

  it('reads the first occurrence', () => {
    expect(queryParam('a=1&user=x+y&user=z', 'user')).toBe('x y');
    expect(queryParam('a=1', 'user')).toBeUndefined();
  });
});
