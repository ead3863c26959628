/**
 * Bounded retries through the real axios hooks, counted at the Dify simulator (`sim.requests`):
 * what is safe is repeated, what may already have run in Dify is not, and a stream that began is
 * never repeated.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type AddressInfo } from 'node:net';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';
import { appsFileEnv } from '../support/apps-file.js';
import { auditRowOf, call, dataOf, SseClient, type CallResult } from '../support/e2e-client.js';

const FLOW_KEY = 'app-FLOWretryKEY0123456789';
const MAX_RETRIES = 3;

const blockingChat = (user = 'retry-user') => ({ inputs: {}, query: 'hello', user, response_mode: 'blocking' });

describe('retries', () => {
  let gw: TestGateway;
  let removeAppsFile: () => void;
  let chatKey: string;
  let readKey: string;
  let flowKey: string;

  beforeAll(async () => {
    const apps = appsFileEnv({ flow: { env: 'FLOW_DIFY_KEY', key: FLOW_KEY } });
    removeAppsFile = apps.remove;
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: CANARY_DIFY_KEY, mode: 'chat' },
          { key: FLOW_KEY, mode: 'workflow' },
        ],
        answer: 'short answer',
      },
      env: { ...apps.env, DIFY_MAX_RETRIES: String(MAX_RETRIES), DIFY_RETRY_AFTER_MAX_MS: '2000' },
    });
    chatKey = (await gw.createKey(['chat'])).key;
    readKey = (await gw.createKey(['app:read'])).key;
    flowKey = (await gw.createKey(['workflow'], 'team-flow', 'flow')).key;
  });
  afterAll(async () => {
    await gw?.close();
    removeAppsFile?.();
  });
  beforeEach(() => gw.sim.reset());

  const attempts = (method: string, path: string) => gw.sim.requests.filter((r) => r.method === method && r.path === path).length;
  const getInfo = () => call(gw.origin, 'GET', '/v1/info', { key: readKey });
  const postChat = (body: unknown = blockingChat()) => call(gw.origin, 'POST', '/v1/chat-messages', { key: chatKey, body });
  const audited = (res: CallResult) => auditRowOf(gw, res.headers['x-request-id'] as string);

  describe('idempotent GET /v1/info', () => {
    it('is retried after a 503 and then succeeds (2 attempts)', async () => {
      gw.sim.addFault({ kind: 'status', status: 503, match: { path: '/info' } });
      const res = await getInfo();
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ mode: 'chat' });
      expect(attempts('GET', '/v1/info')).toBe(2);
      expect(await audited(res)).toMatchObject({ attempts: 2, status: 200, upstream_status: 200, outcome: 'success' });
    });

    it('is retried after a connection reset and then succeeds (2 attempts)', async () => {
      gw.sim.addFault({ kind: 'reset', match: { path: '/info' } });
      const res = await getInfo();
      expect(res.status).toBe(200);
      expect(attempts('GET', '/v1/info')).toBe(2);
      expect(await audited(res)).toMatchObject({ attempts: 2, outcome: 'success' });
    });

    it(`stops after DIFY_MAX_RETRIES=${MAX_RETRIES} retries of a 503 and answers 502`, async () => {
      gw.sim.addFault({ kind: 'status', status: 503, match: { path: '/info' }, times: Infinity });
      const res = await getInfo();
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ code: 'dify_unavailable', status: 502 });
      expect(attempts('GET', '/v1/info')).toBe(MAX_RETRIES + 1);
      expect(await audited(res)).toMatchObject({ attempts: MAX_RETRIES + 1, status: 502, upstream_status: 503, outcome: 'upstream_error' });
    });

    it(`stops after DIFY_MAX_RETRIES=${MAX_RETRIES} retries of connection resets`, async () => {
      gw.sim.addFault({ kind: 'reset', match: { path: '/info' }, times: Infinity });
      const res = await getInfo();
      expect(res.status).toBe(502);
      expect(attempts('GET', '/v1/info')).toBe(MAX_RETRIES + 1);
    });
  });

  describe('unsafe POST /v1/chat-messages', () => {
    it('is NOT retried after a reset once the body was sent: 1 attempt, 502 dify_outcome_unknown', async () => {
      gw.sim.addFault({ kind: 'reset', resetBeforeBody: false, match: { method: 'POST', path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ code: 'dify_outcome_unknown', status: 502 });
      expect(attempts('POST', '/v1/chat-messages')).toBe(1);
      expect(gw.sim.requests[0].body).toMatchObject({ query: 'hello' }); // the simulator did read the body
      expect(await audited(res)).toMatchObject({ attempts: 1, status: 502, outcome: 'upstream_error', error_code: 'dify_outcome_unknown' });
    });

    it('is NOT retried on a 500: 1 attempt, 502 dify_outcome_unknown (it may have run)', async () => {
      gw.sim.addFault({ kind: 'status', status: 500, match: { path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ code: 'dify_outcome_unknown', status: 502 });
      expect(attempts('POST', '/v1/chat-messages')).toBe(1);
      expect(await audited(res)).toMatchObject({ attempts: 1, upstream_status: 500 });
    });

    it('is retried on 429 too_many_requests with Retry-After: 0 (2 attempts, success)', async () => {
      gw.sim.addFault({ kind: 'rate-limit', code: 'too_many_requests', retryAfter: '0', match: { path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ event: 'message', answer: 'short answer' });
      expect(attempts('POST', '/v1/chat-messages')).toBe(2);
      expect(await audited(res)).toMatchObject({ attempts: 2, status: 200, outcome: 'success' });
    });

    it('waits at least the Retry-After before repeating a 429', async () => {
      gw.sim.addFault({ kind: 'rate-limit', code: 'too_many_requests', retryAfter: '1', match: { path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(200);
      const [first, second] = gw.sim.requests.filter((r) => r.path === '/v1/chat-messages');
      expect(second).toBeDefined();
      // A lower bound set by the gateway's own wait, not a performance threshold.
      expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(990);
    });

    it('is NOT retried on 429 rate_limit_error: 1 attempt, 429 passed through with Retry-After', async () => {
      gw.sim.addFault({ kind: 'rate-limit', code: 'rate_limit_error', retryAfter: '0', message: 'Rate limit reached', match: { path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(429);
      expect(res.json).toMatchObject({ code: 'rate_limit_error', status: 429 });
      expect(res.headers['retry-after']).toBeDefined();
      expect(attempts('POST', '/v1/chat-messages')).toBe(1);
      expect(await audited(res)).toMatchObject({ attempts: 1, status: 429, upstream_status: 429, outcome: 'client_error', error_code: 'rate_limit_error' });
    });

    it("passes Dify's own Retry-After value through on a 429 that is not retried", async () => {
      gw.sim.addFault({ kind: 'rate-limit', code: 'rate_limit_error', retryAfter: '7', match: { path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('7');
      expect(attempts('POST', '/v1/chat-messages')).toBe(1);
    });

    it('is retried on a 503 and then succeeds (2 attempts)', async () => {
      gw.sim.addFault({ kind: 'status', status: 503, match: { path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(200);
      expect(attempts('POST', '/v1/chat-messages')).toBe(2);
    });

    it(`stops after DIFY_MAX_RETRIES=${MAX_RETRIES} retries of a 503`, async () => {
      gw.sim.addFault({ kind: 'status', status: 503, match: { path: '/chat-messages' }, times: Infinity });
      const res = await postChat();
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ code: 'dify_unavailable' });
      expect(attempts('POST', '/v1/chat-messages')).toBe(MAX_RETRIES + 1);
    });

    it('does not retry when Retry-After exceeds DIFY_RETRY_AFTER_MAX_MS: 429 with Retry-After', async () => {
      gw.sim.addFault({ kind: 'rate-limit', code: 'too_many_requests', retryAfter: '30', match: { path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(429);
      expect(res.json).toMatchObject({ code: 'too_many_requests', status: 429 });
      expect(res.headers['retry-after']).toBe('30');
      expect(attempts('POST', '/v1/chat-messages')).toBe(1);
    });

    it('does not retry an HTTP-date Retry-After beyond DIFY_RETRY_AFTER_MAX_MS either', async () => {
      const later = new Date(Date.now() + 120_000).toUTCString();
      gw.sim.addFault({ kind: 'rate-limit', code: 'too_many_requests', retryAfter: later, match: { path: '/chat-messages' } });
      const res = await postChat();
      expect(res.status).toBe(429);
      // Our answers give Retry-After in seconds (an HTTP date is read and converted).
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(118);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(120);
      expect(attempts('POST', '/v1/chat-messages')).toBe(1);
    });
  });

  describe('streams', () => {
    it('never repeats a chat stream that began and was then cut (1 attempt)', async () => {
      gw.sim.addFault({ kind: 'cut-stream', afterEvents: 1, match: { path: '/chat-messages' } });
      const stream = await SseClient.open(gw.origin, '/v1/chat-messages', { key: chatKey, body: { ...blockingChat(), response_mode: 'streaming' } });
      await stream.rest();
      expect(dataOf(stream.events).at(-1)).toMatchObject({ event: 'error', code: 'dify_stream_interrupted' });
      expect(attempts('POST', '/v1/chat-messages')).toBe(1);
      expect(await auditRowOf(gw, stream.headers['x-request-id'] as string)).toMatchObject({ attempts: 1, outcome: 'stream_error' });
    });

    it('never repeats an idempotent GET stream once its 200 headers arrived, even before any event (1 attempt)', async () => {
      const run = await call(gw.origin, 'POST', '/v1/workflows/run', { key: flowKey, body: { inputs: {}, user: 'flow-user', response_mode: 'blocking' } });
      expect(run.status).toBe(200);
      const runId = run.json.workflow_run_id as string;
      const path = `/v1/workflow/${runId}/events`;

      gw.sim.addFault({ kind: 'cut-stream', afterEvents: 0, match: { path } });
      const stream = await SseClient.open(gw.origin, `${path}?user=flow-user`, { key: flowKey, method: 'GET' });
      expect(stream.status).toBe(200);
      await stream.rest();
      expect(dataOf(stream.events).at(-1)).toMatchObject({ event: 'error', code: 'dify_stream_interrupted' });
      expect(attempts('GET', path)).toBe(1);

      // Without a fault the same stream replays the finished run: the route itself works.
      const again = await SseClient.open(gw.origin, `${path}?user=flow-user`, { key: flowKey, method: 'GET' });
      await again.rest();
      expect(dataOf(again.events).map((e) => e.event)).toEqual(['workflow_finished']);
    });
  });
});

describe('timeouts', () => {
  let gw: TestGateway;
  let chatKey: string;
  let readKey: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }], answer: 'short answer' },
      env: { DIFY_FIRST_BYTE_TIMEOUT_MS: '500', DIFY_MAX_RETRIES: '2' },
    });
    chatKey = (await gw.createKey(['chat'])).key;
    readKey = (await gw.createKey(['app:read'])).key;
  });
  afterAll(() => gw?.close());
  beforeEach(() => gw.sim.reset());

  it('answers 504 dify_outcome_unknown when Dify is slower than DIFY_FIRST_BYTE_TIMEOUT_MS after a POST was sent, and does not repeat it', async () => {
    gw.sim.addFault({ kind: 'latency', delayMs: 3000, match: { path: '/chat-messages' } });
    const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key: chatKey, body: blockingChat() });
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ code: 'dify_outcome_unknown', status: 504 });
    expect(gw.sim.requests.filter((r) => r.path === '/v1/chat-messages')).toHaveLength(1);
    expect(await auditRowOf(gw, res.headers['x-request-id'] as string)).toMatchObject({
      status: 504,
      outcome: 'timeout',
      error_code: 'dify_outcome_unknown',
      attempts: 1,
    });
  });

  it('answers 504 dify_timeout for a slow GET as well', async () => {
    gw.sim.addFault({ kind: 'latency', delayMs: 3000, match: { path: '/info' }, times: Infinity });
    const res = await call(gw.origin, 'GET', '/v1/info', { key: readKey });
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ code: 'dify_timeout' });
  });

  it('answers normally when Dify is within the timeout', async () => {
    const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key: chatKey, body: blockingChat() });
    expect(res.status).toBe(200);
  });
});

describe('Dify refusing connections', () => {
  let gw: TestGateway;
  let chatKey: string;

  beforeAll(async () => {
    // A port nobody listens on: every connection is refused, so no request ever reaches Dify.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    gw = await startTestGateway({ env: { DIFY_BASE_URL: `http://127.0.0.1:${port}/v1`, DIFY_MAX_RETRIES: '2' } });
    chatKey = (await gw.createKey(['chat'])).key;
  });
  afterAll(() => gw?.close());

  it('retries even a POST when the connection was refused (nothing was sent), then answers 502 dify_unavailable', async () => {
    const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key: chatKey, body: blockingChat() });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ code: 'dify_unavailable', status: 502 });
    expect(gw.sim.requests).toHaveLength(0);
    expect(await auditRowOf(gw, res.headers['x-request-id'] as string)).toMatchObject({
      attempts: 3,
      status: 502,
      upstream_status: null,
      outcome: 'upstream_error',
    });
  });
});
