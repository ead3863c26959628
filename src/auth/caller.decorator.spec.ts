import { describe, expect, it } from '@jest/globals';
import { actorOf } from './caller.decorator.js';
import type { Caller } from './caller.js';
import type { AuthenticatedRequest } from './scope.guard.js';

const caller: Caller = {
  keyId: 'k1',
  name: 'team-a',
  scopes: ['admin'],
  apps: [],
  datasets: [],
  namespace: 'team-a',
  limits: { requestsPerMinute: 0, concurrentStreams: 0, dailyTokens: 0 },
};
const request = (extra: Partial<AuthenticatedRequest>) => ({ method: 'POST', path: '/admin/keys', headers: {}, ...extra }) as AuthenticatedRequest;

describe('@Caller()', () => {
  it('gives the key the guard authenticated, what it holds, and the request id', () => {
    const req = request({ caller });
    expect(actorOf(req)).toEqual({ requestId: 'unknown', keyId: 'k1', name: 'team-a', holds: caller });
  });

  it('refuses a handler that no guard authenticated (a wiring mistake, never an anonymous actor)', () => {
    expect(() => actorOf(request({}))).toThrow(/without an authenticated key/);
  });
});
