/**
 * The upstream socket pool (DIFY_MAX_SOCKETS): two apps on one Dify origin share it. When slow
 * streams hold every socket, a further call is refused at once with 503 in Dify's error shape,
 * never queued unseen behind them; once a stream ends, calls go through again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appsFileEnv } from '../support/apps-file.js';
import { call, SseClient } from '../support/e2e-client.js';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const OTHER_KEY = 'app-OTHERpoolKEY0123456789';
const streamingChat = (user: string) => ({ inputs: {}, query: 'tell me a long story', user, response_mode: 'streaming' });

describe('upstream socket pool', () => {
  let gw: TestGateway;
  let removeAppsFile: () => void;
  let chatKey: string;
  let otherKey: string;

  beforeAll(async () => {
    const apps = appsFileEnv({ other: { env: 'OTHER_DIFY_KEY', key: OTHER_KEY } });
    removeAppsFile = apps.remove;
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: CANARY_DIFY_KEY, mode: 'chat' },
          { key: OTHER_KEY, mode: 'chat' },
        ],
        answer: Array.from({ length: 40 }, (_, i) => `word${i}`).join(' '),
        streamChunkDelayMs: 100,
      },
      // Each app's bulkhead allows 2 calls; the two apps together get 2 sockets.
      env: { ...apps.env, DIFY_MAX_CONCURRENT_CALLS: '2', DIFY_MAX_SOCKETS: '2', KEY_DEFAULT_CONCURRENT_STREAMS: '0' },
    });
    chatKey = (await gw.createKey(['chat'])).key;
    otherKey = (await gw.createKey(['app:read'], 'team-other', 'other')).key;
  });
  afterAll(async () => {
    await gw?.close();
    removeAppsFile?.();
  });

  it('refuses a call at once with 503 dify_connections_busy while slow streams hold every socket, then serves it', async () => {
    const streams = await Promise.all([
      SseClient.open(gw.origin, '/v1/chat-messages', { key: chatKey, body: streamingChat('pool-a') }),
      SseClient.open(gw.origin, '/v1/chat-messages', { key: chatKey, body: streamingChat('pool-b') }),
    ]);
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    await Promise.all(streams.map((s) => s.nextDataEvent()));
    const infosBefore = gw.sim.requests.filter((r) => r.path === '/v1/info').length;

    // The other app's bulkhead is empty, but the origin's two sockets are taken.
    const refused = await call(gw.origin, 'GET', '/v1/info', { key: otherKey });
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ code: 'dify_connections_busy', status: 503 });
    expect(typeof refused.json.message).toBe('string');
    expect(refused.headers['retry-after']).toBe('1');
    expect(gw.sim.requests.filter((r) => r.path === '/v1/info').length).toBe(infosBefore); // nothing sent
    expect(streams.every((s) => s.open)).toBe(true); // the streams are untouched

    await Promise.all(streams.map((s) => s.rest()));
    expect(streams.every((s) => s.ended)).toBe(true);
    const served = await call(gw.origin, 'GET', '/v1/info', { key: otherKey });
    expect(served.status).toBe(200);
  });
});
