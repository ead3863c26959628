import { describe, expect, it } from '@jest/globals';
import { setTopLevelMember } from './json-member.js';

const set = (json: string, value = 'ns:alice') => setTopLevelMember(Buffer.from(json, 'utf8'), 'user', value).toString('utf8');

describe('setTopLevelMember', () => {
  it('replaces the top-level value and keeps every other byte', () => {
    const body = '{ "inputs": {"user": "nested", "n": 1.50, "big": 12345678901234567890},\n  "user" : "alice", "query":"h\\u00e9\\"llo" }';
    const out = set(body);
    expect(out).toBe('{ "inputs": {"user": "nested", "n": 1.50, "big": 12345678901234567890},\n  "user" : "ns:alice", "query":"h\\u00e9\\"llo" }');
  });

  it('adds the member after the opening brace when it is absent', () => {
    expect(set('{"query":"x"}')).toBe('{"user":"ns:alice","query":"x"}');
    expect(set(' {}')).toBe(' {"user":"ns:alice"}');
    expect(JSON.parse(set('{\n}'))).toEqual({ user: 'ns:alice' });
  });

  it('replaces null and non-string values, and every duplicate', () => {
    expect(JSON.parse(set('{"user":null}'))).toEqual({ user: 'ns:alice' });
    expect(set('{"user":"a","x":[1,{"user":"b"}],"user":"c"}')).toBe('{"user":"ns:alice","x":[1,{"user":"b"}],"user":"ns:alice"}');
  });

  it('is not fooled by braces, quotes or the name inside strings and nested values', () => {
    const body = '{"a":"}\\"user\\":\\"x","b":{"c":"{[","user":"deep"},"d":["user"],"user":"top"}';
    const out = JSON.parse(set(body));
    expect(out).toEqual({ a: '}"user":"x', b: { c: '{[', user: 'deep' }, d: ['user'], user: 'ns:alice' });
  });

  it('handles multi-byte text around it and escapes the new value', () => {
    const out = set('{"q":"日本語 ✓","user":"ü"}', 'ns:"quoted"\\ é');
    expect(JSON.parse(out)).toEqual({ q: '日本語 ✓', user: 'ns:"quoted"\\ é' });
  });

  it('matches a key written with escapes', () => {
    expect(JSON.parse(set('{"\\u0075ser":"x"}'))).toEqual({ user: 'ns:alice' });
  });
});
