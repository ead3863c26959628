import { describe, expect, it } from '@jest/globals';
import { parseDifyBody } from './dify.http-hooks.js';

describe('Dify error bodies', () => {
  it('parses only Dify-shaped error bodies', () => {
    expect(parseDifyBody(Buffer.from('{"code":"too_many_requests","message":"m","status":429}'))).toEqual({ code: 'too_many_requests', message: 'm' });
    expect(parseDifyBody(Buffer.from('<html>502 Bad Gateway</html>'))).toBeUndefined();
    expect(parseDifyBody(Buffer.from('{"error":"x"}'))).toBeUndefined();
  });
});
