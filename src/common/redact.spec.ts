import { describe, expect, it } from '@jest/globals';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { MASK, REDACT_MAX_VALUES, TRUNCATED, redact, redactText } from './redact.js';

describe('redact', () => {
  it('masks sensitive keys at any depth, case-insensitively, and keeps token counts', () => {
    const out = redact({
      headers: { Authorization: 'Bearer x', 'X-Api-Key': 'k', cookie: 'c' },
      usage: { total_tokens: 3 },
      nested: [{ password: 'p', form_token: 'f' }],
    });
    expect(out).toEqual({
      headers: { Authorization: MASK, 'X-Api-Key': MASK, cookie: MASK },
      usage: { total_tokens: 3 },
      nested: [{ password: MASK, form_token: MASK }],
    });
  });

  it('masks secret-looking values inside free text', () => {
    const text = 'key app-ABCDEFGHijklmnop12345678 and dgw_abcdefghijklmnopqrstuvwxyz0123456789 via Bearer abc.def and postgresql://u:pw@h/db';
    const out = redactText(text);
    expect(out).not.toMatch(/app-ABCD|dgw_abc|abc\.def|:pw@/);
    expect(out).toContain('postgresql://***@h/db');
  });

  it('survives cycles and errors', () => {
    const a: Record<string, unknown> = { name: 'x' };
    a.self = a;
    expect(redact(a)).toEqual({ name: 'x', self: '[Circular]' });
    expect(redact(new Error('bad dgw_abcdefghijklmnopqrstuvwxyz0123456789'))).toEqual({ name: 'Error', message: `bad ${MASK}` });
  });
});

describe('redactText: personal data', () => {
  it.each([
    ['alice.o+dify@example.co.uk', '[email]'],
    ['+1 (415) 555-2671', '[phone]'],
    ['+4915112345678', '[phone]'],
    ['0049 151 1234 5678', '[phone]'],
    ['06 12 34 56 78', '[phone]'],
    ['0612345678', '[phone]'],
    ['(415) 555-2671', '[phone]'],
    ['415-555-2671', '[phone]'],
    ['4111 1111 1111 1111', '[card]'],
    ['4111-1111-1111-1111', '[card]'],
    ['5500005555555559', '[card]'],
    ['DE89 3704 0044 0532 0130 00', '[iban]'],
    ['GB82WEST12345698765432', '[iban]'],
  ])('masks %s', (value, mask) => {
    expect(redactText(`contact: ${value}, thanks`)).toBe(`contact: ${mask}, thanks`);
  });

  it.each([
    '550e8400-e29b-41d4-a716-446655440000',
    '2026-11-01T12:30:00Z',
    '2026-11-01 12:30',
    'total_tokens 1705395332',
    'latency 1234.5678 s',
    '127.0.0.1:5432',
    '4111 1111 1111 1112', // fails Luhn
    'DE89 3704 0044 0532 0130 0X', // fails mod 97
    'version 1.19.0',
    'Dify answered 429 after 3 attempts in 1200 ms',
  ])('keeps %s', (value) => {
    expect(redactText(value)).toBe(value);
  });

  it('masks credentials written out as name=value pairs and basic auth', () => {
    expect(redactText('password=hunter2&user=bob')).toBe(`password=${MASK}&user=bob`);
    expect(redactText('{"api_key": "abc123"}')).toBe(`{"api_key": "${MASK}"}`);
    expect(redactText('Authorization: Basic dXNlcjpwYXNzd29yZA==')).toBe(`Authorization: ${MASK}`);
    expect(redactText('Access token is invalid')).toBe('Access token is invalid');
  });

  it('masks personal data inside nested values but keeps numbers', () => {
    expect(redact({ message: 'mail bob@example.com', usage: { total_tokens: 12 }, apikey: 'x' })).toEqual({
      message: 'mail [email]',
      usage: { total_tokens: 12 },
      apikey: MASK,
    });
  });
});

describe('redact: whatever it is given', () => {
  it('cuts values nested deeper than its bound instead of exhausting the stack', () => {
    let deep: unknown = 'app-DEEPsecretKEY012345';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const out = JSON.stringify(redact(deep));
    expect(out).toContain(TRUNCATED);
    expect(out).not.toContain('DEEPsecret');
  });

  it('bounds its work on huge arrays and wide objects', () => {
    const huge = Array.from({ length: 1_000_000 }, (_, i) => i);
    const started = Date.now();
    const out = redact({ huge }) as { huge: unknown[] };
    expect(out.huge.length).toBeLessThanOrEqual(REDACT_MAX_VALUES + 1);
    expect(out.huge.at(-1)).toBe(TRUNCATED);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('survives getters that throw, revoked Proxies and Proxies whose traps throw', () => {
    const getter = Object.defineProperty({ ok: 1 }, 'bad', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('no keys');
        },
      },
    );
    expect(redact({ getter, revoked: revocable.proxy, hostile })).toEqual({
      getter: { ok: 1, bad: '[Unreadable]' },
      revoked: '[Unreadable]',
      hostile: '[Unreadable]',
    });
    const badError = Object.defineProperty(new Error('x'), 'message', {
      get: () => {
        throw new Error('boom');
      },
    });
    expect(() => redact(badError)).not.toThrow();
  });

  it('names framework objects (requests, sockets, streams) instead of walking them', () => {
    const socket = new Socket();
    expect(redact({ nested: { socket, stream: Readable.from([]) } })).toEqual({ nested: { socket: '[Socket]', stream: '[Readable]' } });
    socket.destroy();
  });

  it('masks secrets written as keys, and Dates and buffers become readable values', () => {
    expect(redact({ 'app-KEYasKEY0123456789': 1 })).toEqual({ [MASK]: 1 });
    expect(redact({ at: new Date('2026-01-02T03:04:05.000Z'), bytes: Buffer.from('app-BUFFERsecret0123') })).toEqual({
      at: '2026-01-02T03:04:05.000Z',
      bytes: '[20 bytes]',
    });
  });
});
