import { describe, expect, it } from '@jest/globals';
import { mapDifyError } from './dify-error.mapper.js';
import { DifyError, type DifyErrorDetails } from './dify.errors.js';

const http = (extra: Partial<DifyErrorDetails>) =>
  new DifyError({ kind: 'http', method: 'GET', path: '/messages', retryClass: 'idempotent', attempts: 1, durationMs: 1, mayHaveReachedDify: true, ...extra });

describe('mapDifyError', () => {
  it("passes a caller's error through with Dify's status and code", () => {
    expect(mapDifyError(http({ status: 404, difyCode: 'not_found', difyMessage: 'Conversation Not Exists.' }))).toMatchObject({
      status: 404,
      code: 'not_found',
      message: 'Conversation Not Exists.',
    });
  });

  it('answers a 1xx or 3xx from upstream (a proxy redirect) with 502 dify_bad_response, never with that status', () => {
    for (const status of [100, 301, 302, 304]) {
      expect(mapDifyError(http({ status, difyCode: 'moved', difyMessage: 'see elsewhere' }))).toMatchObject({ status: 502, code: 'dify_bad_response' });
    }
  });

  it('passes on only identifier-shaped Dify codes', () => {
    const mapped = mapDifyError(http({ status: 400, difyCode: 'bad app-LEAKEDdifyKEY0123456789 <script>', difyMessage: 'x' }));
    expect(mapped).toMatchObject({ status: 400, code: 'bad_request' });
    expect(mapDifyError(http({ status: 400, difyCode: 'invalid_param', difyMessage: 'x' })).code).toBe('invalid_param');
  });
});
