/**
 * SSE through the real gateway: chunks are relayed as they arrive (never buffered until the end),
 * framing and keep-alive pings pass through untouched, a broken upstream stream ends with an
 * `error` event (never a clean-looking end) and is audited, and a caller that goes away makes the
 * gateway close the upstream request.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';
import { auditRowOf, call, dataOf, eventually, SseClient } from '../support/e2e-client.js';
import { connectionWith, startTcpTap, upstreamTextAfter, type TcpTap } from '../support/tcp-tap.js';

/** 16 words: at 150 ms per word the upstream needs about 2.4 s to finish a stream. */
const ANSWER = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen';
const WORDS = ANSWER.split(' ').length;
/** A request id of our own: the gateway forwards it to Dify, so it marks the upstream request on the tap. */
const markedId = (name: string) => `${name}-${randomUUID()}`;

const streamingChat = (user: string, extra: Record<string, unknown> = {}) => ({
  inputs: {},
  query: 'Tell me something',
  user,
  response_mode: 'streaming',
  ...extra,
});

/** Every frame of an SSE body is `data: {json}` or a bare `event: ping`, and the body ends with a blank line. */
function expectDifyFraming(text: string): void {
  expect(text.endsWith('\n\n')).toBe(true);
  const frames = text.slice(0, -2).split('\n\n');
  for (const frame of frames) {
    expect(frame).toMatch(/^(event: ping|data: \{.*\})$/);
    if (frame.startsWith('data: ')) expect(() => JSON.parse(frame.slice(6))).not.toThrow();
  }
}

describe('chat streams relayed chunk by chunk', () => {
  let gw: TestGateway;
  let tap: TcpTap;
  let key: string;

  beforeAll(async () => {
    tap = await startTcpTap();
    gw = await startTestGateway({
      simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }], streamChunkDelayMs: 150, pingIntervalMs: 40, answer: ANSWER },
      env: { DIFY_BASE_URL: tap.url },
    });
    tap.target = gw.sim.port;
    key = (await gw.createKey(['chat', 'conversations'])).key;
  });
  afterAll(async () => {
    await gw?.close();
    await tap?.close();
  });
  beforeEach(() => gw.sim.reset());

  it('delivers the first event while the upstream is still streaming, and the rest later', async () => {
    const requestId = markedId('early-reader');
    const stream = await SseClient.open(gw.origin, '/v1/chat-messages', {
      key,
      body: streamingChat('early-reader'),
      headers: { 'accept-encoding': 'gzip, deflate, br', 'x-request-id': requestId },
    });
    expect(stream.status).toBe(200);

    const first = await stream.nextDataEvent();
    expect(first?.event).toBe('message');
    // At this moment the caller's response is still open and the simulator has not finished:
    // what it has sent for this request so far holds no message_end.
    expect(stream.open).toBe(true);
    const upstream = connectionWith(tap, requestId);
    expect(upstream).toBeDefined();
    const sentSoFar = upstreamTextAfter(upstream!, requestId);
    expect(sentSoFar).toContain('"event":"message"');
    expect(sentSoFar).not.toContain('message_end');
    expect(stream.text).not.toContain('message_end');

    const rest = await stream.rest();
    expect(stream.ended).toBe(true);
    const events = dataOf([first!, ...rest]);
    expect(events.at(-1)?.event).toBe('message_end');
    expect(events.filter((e) => e.event === 'message')).toHaveLength(WORDS);
    // ... and the simulator did send message_end, after the caller had the first event.
    expect(upstreamTextAfter(upstream!, requestId)).toContain('message_end');
  });

  it('lets the caller act on the first event (stop the task) before the upstream would have finished', async () => {
    const stream = await SseClient.open(gw.origin, '/v1/chat-messages', { key, body: streamingChat('stopper') });
    const first = await stream.nextDataEvent();
    expect(first?.event).toBe('message');
    const taskId = first!.data!.task_id as string;
    expect(typeof taskId).toBe('string');

    // Had the gateway held the stream until Dify finished, this stop would come too late to cut the answer.
    const stop = await call(gw.origin, 'POST', `/v1/chat-messages/${taskId}/stop`, { key, body: { user: 'stopper' } });
    expect(stop.status).toBe(200);
    expect(stop.json).toEqual({ result: 'success' });

    const events = dataOf([first!, ...(await stream.rest())]);
    expect(events.at(-1)?.event).toBe('message_end');
    const answer = events
      .filter((e) => e.event === 'message')
      .map((e) => e.answer)
      .join('');
    expect(answer.length).toBeGreaterThan(0);
    expect(answer.length).toBeLessThan(ANSWER.length);
    expect(ANSWER.startsWith(answer)).toBe(true);
  });

  it('sends SSE headers without compression or proxy buffering, with Dify framing and pings intact', async () => {
    const requestId = markedId('framing');
    const stream = await SseClient.open(gw.origin, '/v1/chat-messages', {
      key,
      body: streamingChat('framing'),
      headers: { 'accept-encoding': 'gzip, deflate, br', 'x-request-id': requestId },
    });
    await stream.rest();
    expect(stream.ended).toBe(true);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['content-encoding']).toBeUndefined();
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers['x-request-id']).toEqual(expect.any(String));

    expectDifyFraming(stream.text);
    const names = stream.events.map((e) => e.event);
    // Keep-alive pings went through as bare `event: ping` lines, also between two data events.
    expect(stream.text).toContain('\n\nevent: ping\n\n');
    const firstData = names.indexOf('message');
    expect(names.slice(firstData).includes('ping')).toBe(true);
    expect(names.filter((n) => n !== 'ping').at(-1)).toBe('message_end');

    const events = dataOf(stream.events);
    expect(
      events
        .filter((e) => e.event === 'message')
        .map((e) => e.answer)
        .join(''),
    ).toBe(ANSWER);
    const taskIds = new Set(events.map((e) => e.task_id));
    const conversationIds = new Set(events.map((e) => e.conversation_id));
    expect(taskIds.size).toBe(1);
    expect(conversationIds.size).toBe(1);

    // The upstream bytes of the body reached the caller unchanged (only the framing of HTTP differs).
    const upstream = upstreamTextAfter(connectionWith(tap, requestId)!, requestId);
    for (const event of events) expect(upstream).toContain(`data: ${JSON.stringify(event)}\n\n`);
  });

  it('ends a stream cut mid-way with an error event, never a clean-looking end, and audits it', async () => {
    gw.sim.addFault({ kind: 'cut-stream', match: { path: '/chat-messages' }, afterEvents: 3 });
    const stream = await SseClient.open(gw.origin, '/v1/chat-messages', { key, body: streamingChat('cut') });
    expect(stream.status).toBe(200);
    await stream.rest();

    const events = dataOf(stream.events);
    expect(events.filter((e) => e.event === 'message')).toHaveLength(3);
    expect(events.some((e) => e.event === 'message_end')).toBe(false);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ event: 'error', status: 502, code: 'dify_stream_interrupted' });
    expect(typeof last.message).toBe('string');
    expect(stream.text.endsWith(`data: ${JSON.stringify(last)}\n\n`)).toBe(true);
    expectDifyFraming(stream.text);

    const requestId = stream.headers['x-request-id'] as string;
    const row = await auditRowOf(gw, requestId);
    expect(row).toMatchObject({
      route: '/chat-messages',
      method: 'POST',
      status: 200,
      upstream_status: 200,
      outcome: 'stream_error',
      error_code: 'dify_stream_interrupted',
      attempts: 1,
      task_id: events[0].task_id,
      conversation_id: events[0].conversation_id,
      message_id: events[0].message_id,
    });
    expect(gw.sim.requests.filter((r) => r.path === '/v1/chat-messages')).toHaveLength(1);
  });

  it('relays an error event sent by Dify inside the stream untouched and records its code', async () => {
    gw.sim.addFault({
      kind: 'stream-error',
      match: { path: '/chat-messages' },
      afterEvents: 2,
      status: 400,
      code: 'completion_request_error',
      message: 'model failed',
    });
    const stream = await SseClient.open(gw.origin, '/v1/chat-messages', { key, body: streamingChat('dify-error') });
    await stream.rest();
    const events = dataOf(stream.events);
    expect(events.at(-1)).toEqual({ event: 'error', status: 400, code: 'completion_request_error', message: 'model failed' });
    expectDifyFraming(stream.text);
    const row = await auditRowOf(gw, stream.headers['x-request-id'] as string);
    expect(row).toMatchObject({ error_code: 'completion_request_error', task_id: events[0].task_id });
    // The call failed inside the stream: it must not be counted as a success.
    expect(row.outcome).not.toBe('success');
  });
});

describe('workflow streams', () => {
  let gw: TestGateway;
  let key: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'workflow' }], streamChunkDelayMs: 20, pingIntervalMs: 10, answer: 'alpha beta gamma delta' },
    });
    key = (await gw.createKey(['workflow'])).key;
  });
  afterAll(() => gw?.close());

  it('relays a workflow run in Dify order and audits its run id', async () => {
    const stream = await SseClient.open(gw.origin, '/v1/workflows/run', {
      key,
      body: { inputs: { topic: 'x' }, user: 'flow-user', response_mode: 'streaming' },
    });
    expect(stream.status).toBe(200);
    await stream.rest();
    expect(stream.ended).toBe(true);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expectDifyFraming(stream.text);

    const events = dataOf(stream.events);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('workflow_started');
    expect(names.at(-1)).toBe('workflow_finished');
    expect(names).toContain('node_started');
    expect(names).toContain('node_finished');
    expect(
      events
        .filter((e) => e.event === 'text_chunk')
        .map((e) => (e.data as { text: string }).text)
        .join(''),
    ).toBe('alpha beta gamma delta');
    const runIds = new Set(events.map((e) => e.workflow_run_id));
    expect(runIds.size).toBe(1);
    const runId = events[0].workflow_run_id as string;
    expect(typeof runId).toBe('string');

    const row = await auditRowOf(gw, stream.headers['x-request-id'] as string);
    expect(row).toMatchObject({
      route: '/workflows/run',
      outcome: 'success',
      status: 200,
      workflow_run_id: runId,
      task_id: events[0].task_id,
    });
  });
});

describe('a caller that disconnects mid-stream', () => {
  let gw: TestGateway;
  let tap: TcpTap;
  let key: string;
  // 200 words at 150 ms: left alone, the upstream stream would run for 30 s.
  const LONG_ANSWER = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');

  beforeAll(async () => {
    tap = await startTcpTap();
    gw = await startTestGateway({
      simulator: {
        apps: [{ key: CANARY_DIFY_KEY, mode: 'chat', maxActiveRequests: 1 }],
        streamChunkDelayMs: 150,
        pingIntervalMs: 1000,
        answer: LONG_ANSWER,
      },
      env: { DIFY_BASE_URL: tap.url },
    });
    tap.target = gw.sim.port;
    key = (await gw.createKey(['chat'])).key;
  });
  afterAll(async () => {
    await gw?.close();
    await tap?.close();
  });

  /** Asks the simulator directly whether the app's only concurrency slot is taken (429) or free (404). */
  async function slotState(): Promise<'busy' | 'free'> {
    const res = await fetch(`${gw.sim.url}/chat-messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${CANARY_DIFY_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'probe', user: 'probe', conversation_id: randomUUID(), response_mode: 'blocking' }),
    });
    await res.arrayBuffer();
    if (res.status === 429) return 'busy';
    if (res.status === 404) return 'free';
    throw new Error(`unexpected probe status ${res.status}`);
  }

  it('aborts the upstream request, frees Dify, and audits the call as cancelled', async () => {
    const requestId = markedId('leaver');
    const stream = await SseClient.open(gw.origin, '/v1/chat-messages', { key, body: streamingChat('leaver'), headers: { 'x-request-id': requestId } });
    expect(stream.headers['x-request-id']).toBe(requestId);
    const first = await stream.nextDataEvent();
    expect(first?.event).toBe('message');
    expect(await slotState()).toBe('busy'); // the generation holds the app's only slot

    const upstream = connectionWith(tap, requestId)!;
    expect(upstream).toBeDefined();
    stream.disconnect();

    // The gateway closes its upstream connection, before the simulator has finished the answer
    // (the deadline only turns a hang into a clear failure; the answer would take 30 s).
    await eventually(() => upstream.closedBy !== undefined, 'the upstream connection to close', 10_000);
    expect(upstream.closedBy).toBe('gateway');
    const sentBeforeClose = upstreamTextAfter(upstream, requestId, true);
    expect(sentBeforeClose).toContain('"event":"message"');
    expect(sentBeforeClose).not.toContain('message_end');

    const row = await auditRowOf(gw, requestId);
    expect(row).toMatchObject({ route: '/chat-messages', outcome: 'cancelled', error_code: 'client_closed', task_id: first!.data!.task_id });

    // The simulator noticed: its generation ended and released the slot (long before the 30 s answer would have).
    let state = await slotState();
    for (let i = 0; i < 100 && state === 'busy'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = await slotState();
    }
    expect(state).toBe('free');
  });
});

describe('an upstream stream that goes silent', () => {
  const IDLE_MS = 300;
  let gw: TestGateway;
  let key: string;

  beforeAll(async () => {
    // No pings, and 12 s before the first word: longer than the smallest idle timeout the gateway
    // accepts (10001 ms, env.schema.spec.ts). The gateway here waits 300 ms instead, so the test does
    // not sit through 10 s: what it checks is the watch on a silent stream, not that bound.
    gw = await startTestGateway({
      simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }], streamChunkDelayMs: 12_000, pingIntervalMs: 0, answer: 'late' },
      env: { DIFY_STREAM_IDLE_TIMEOUT_MS: '10001' },
      configure: (cfg) => ({ ...cfg, dify: { ...cfg.dify, timeouts: { ...cfg.dify.timeouts, streamIdleMs: IDLE_MS } } }),
    });
    key = (await gw.createKey(['chat'])).key;
  });
  afterAll(() => gw?.close());

  it('is closed by the gateway with a dify_timeout error event and audited as a timeout', async () => {
    const started = Date.now();
    const stream = await SseClient.open(gw.origin, '/v1/chat-messages', { key, body: streamingChat('silent') });
    expect(stream.status).toBe(200);
    await stream.rest();
    // Closed by the idle watch, long before the simulator's first word (12 s) would have come.
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS);
    expect(Date.now() - started).toBeLessThan(10_000);
    const events = dataOf(stream.events);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: 'error', status: 504, code: 'dify_timeout' });
    expectDifyFraming(stream.text);
    expect(await auditRowOf(gw, stream.headers['x-request-id'] as string)).toMatchObject({ outcome: 'timeout', error_code: 'dify_timeout', status: 200 });
  }, 30_000);
});
