/**
 * OpenTelemetry through the real gateway, exported over OTLP/HTTP (JSON) to an in-process
 * receiver: one SERVER span per /v1 call continuing the caller's `traceparent`, its write-ahead,
 * attempt (CLIENT) and relay spans under it, Dify receiving a `traceparent` whose parent is the
 * attempt span, the trace id beside the request id in the log line, and none of the canaries
 * (Dify key, gateway key, query, inputs, answer, end user, conversation id) in anything exported.
 * Without an endpoint, nothing is sent and the caller's header reaches Dify as it came.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { call, eventually, SseClient } from '../support/e2e-client.js';
import { startOtlpReceiver, spanTree, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const QUERY = 'CANARY-QUERY-what-is-in-the-vault';
const INPUT = 'CANARY-INPUT-account-4242';
const USER = 'CANARY-USER-alice@example.com';
const ANSWER = 'CANARY-ANSWER the vault holds gold';
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const callerContext = () => ({ traceId: hex(16), parentId: hex(8) });
const chat = (mode: 'blocking' | 'streaming') => ({ inputs: { account: INPUT }, query: QUERY, user: USER, response_mode: mode });

/** The finished trace of one call: its server span (once exported) and everything under it. */
async function traceOf(receiver: OtlpReceiver, traceId: string, children: number): Promise<{ server: ReceivedSpan; spans: ReceivedSpan[] }> {
  const spans = () => receiver.spans.filter((s) => s.traceId === traceId);
  await eventually(() => spans().some((s) => s.kind === SERVER) && spans().length >= children + 1, `spans of trace ${traceId}`, 10_000);
  return { server: spans().find((s) => s.kind === SERVER)!, spans: spans() };
}

/** TRACE_TREE_OUT=file: the trees are written there (stdout belongs to the gateway's captured log). */
function report(text: string): void {
  if (process.env.TRACE_TREE_OUT) appendFileSync(process.env.TRACE_TREE_OUT, `${text}\n`);
}

function expectNoCanary(text: string, secrets: string[]): void {
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('tracing on: OTLP/HTTP export of every /v1 call', () => {
  let gw: TestGateway;
  let receiver: OtlpReceiver;
  let key: { id: string; key: string };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    gw = await startTestGateway({
      simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }], answer: ANSWER, streamChunkDelayMs: 2 },
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '20',
        OTEL_SERVICE_NAME: 'gateway-under-test',
      },
    });
    key = await gw.createKey(['chat', 'app:read']);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await receiver?.close();
  });
  beforeEach(() => gw.sim.reset());

  it.each(['blocking', 'streaming'] as const)(
    'a %s chat: server span continuing the caller, children parented to it, Dify a child of the attempt',
    async (mode) => {
      const caller = callerContext();
      const headers = { traceparent: `00-${caller.traceId}-${caller.parentId}-01`, tracestate: 'vendor=abc' };
      let conversationId: string | undefined;
      if (mode === 'blocking') {
        const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key: key.key, body: chat(mode), headers });
        expect(res.status).toBe(200);
        conversationId = res.json.conversation_id;
      } else {
        const stream = await SseClient.open(gw.origin, '/v1/chat-messages', { key: key.key, body: chat(mode), headers });
        expect(stream.status).toBe(200);
        const events = await stream.rest();
        conversationId = events.map((e) => e.data as { conversation_id?: string } | undefined).find((d) => d?.conversation_id)?.conversation_id;
      }
      expect(conversationId).toBeTruthy();

      const { server, spans } = await traceOf(receiver, caller.traceId, 3);
      report(`${mode} chat, span tree:\n${spanTree(spans, caller.traceId)}`);
      expect(server).toMatchObject({ name: 'POST /v1/chat-messages', parentSpanId: caller.parentId, service: 'gateway-under-test' });
      expect(server.attributes).toMatchObject({
        'http.request.method': 'POST',
        'http.route': '/v1/chat-messages',
        'http.response.status_code': 200,
        'dify_gateway.app': 'default',
        'dify_gateway.key_id': key.id,
        'dify_gateway.outcome': 'success',
        'dify_gateway.attempts': 1,
        'gen_ai.provider.name': 'dify',
        'gen_ai.operation.name': 'chat',
      });
      expect(server.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
      expect(server.attributes['gen_ai.usage.output_tokens']).toEqual(expect.any(Number));
      const children = spans.filter((s) => s.parentSpanId === server.spanId);
      expect(children.map((s) => [s.name, s.kind]).sort()).toEqual([
        ['POST /chat-messages', CLIENT],
        ['audit.write_ahead', INTERNAL],
        ['relay', INTERNAL],
      ]);
      const attempt = children.find((s) => s.kind === CLIENT)!;
      expect(attempt.attributes).toMatchObject({ 'http.response.status_code': 200, 'url.template': '/chat-messages' });

      const upstream = gw.sim.requests.find((r) => r.path === '/v1/chat-messages');
      expect(upstream?.headers.traceparent).toBe(`00-${caller.traceId}-${attempt.spanId}-01`);
      expect(upstream?.headers.tracestate).toBe('vendor=abc');
      report(`caller traceparent: ${headers.traceparent}\nDify received:      ${String(upstream?.headers.traceparent)}\n`);

      // The log line of the call carries the request id and the trace id together.
      const line = gw.output.lines().find((l) => l.includes('"dify_call"') && l.includes(caller.traceId));
      expect(line).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ requestId: expect.any(String), trace_id: caller.traceId, span_id: server.spanId });

      expectNoCanary(receiver.bodies.map((b) => b.text).join('\n'), [CANARY_DIFY_KEY, key.key, QUERY, INPUT, USER, ANSWER, conversationId!, 'the vault']);
    },
  );

  it('gives each upstream attempt its own span, and Dify a traceparent naming the attempt it answers', async () => {
    gw.sim.addFault({ kind: 'status', status: 503, match: { path: '/info' } });
    const caller = callerContext();
    const res = await call(gw.origin, 'GET', '/v1/info', { key: key.key, headers: { traceparent: `00-${caller.traceId}-${caller.parentId}-01` } });
    expect(res.status).toBe(200);
    const { server, spans } = await traceOf(receiver, caller.traceId, 2);
    expect(server).toMatchObject({ name: 'GET /v1/info' });
    expect(server.attributes['dify_gateway.attempts']).toBe(2);
    const attempts = spans.filter((s) => s.kind === CLIENT);
    expect(attempts.map((a) => [a.parentSpanId, a.attributes['http.response.status_code'], a.attributes['http.request.resend_count']])).toEqual([
      [server.spanId, 503, undefined],
      [server.spanId, 200, 1],
    ]);
    expect(attempts[0]!.attributes['error.type']).toBe('503');
    const sent = gw.sim.requests.filter((r) => r.path === '/v1/info').map((r) => r.headers.traceparent);
    expect(sent).toEqual(attempts.map((a) => `00-${caller.traceId}-${a.spanId}-01`));
  });

  it('starts a trace of its own for a caller without traceparent, and never names a span by a raw path', async () => {
    const messageId = randomUUID();
    const newServerSpan = async (path: string): Promise<ReceivedSpan> => {
      const before = new Set(receiver.spans.map((s) => s.traceId));
      const res = await call(gw.origin, 'GET', path, { key: key.key });
      expect(res.status).not.toBe(500);
      const fresh = () => receiver.spans.find((s) => s.kind === SERVER && !before.has(s.traceId));
      await eventually(() => fresh() !== undefined, 'a new trace', 10_000);
      return fresh()!;
    };
    const matched = await newServerSpan(`/v1/messages/${messageId}/suggested?user=${encodeURIComponent(USER)}`);
    expect(matched.parentSpanId).toBe('');
    expect(matched.name).toBe('GET /v1/messages/:message_id/suggested');
    expect(matched.attributes['http.route']).toBe('/v1/messages/:message_id/suggested');
    // No route row: the span keeps the method alone, and no route.
    const unmatched = await newServerSpan(`/v1/no-such-thing/${messageId}`);
    expect(unmatched.name).toBe('GET');
    expect(unmatched.attributes).toMatchObject({ 'http.response.status_code': 404, 'dify_gateway.error_code': 'not_found' });
    expect(unmatched.attributes['http.route']).toBeUndefined();
    expectNoCanary(receiver.bodies.map((b) => b.text).join('\n'), [messageId, USER, key.key]);
  });
});

describe('tracing off: no endpoint, nothing loaded or sent', () => {
  let gw: TestGateway;
  let receiver: OtlpReceiver;
  let key: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // The receiver listens, but nothing names it: the gateway must not find it on its own.
    gw = await startTestGateway({ env: { OTEL_SERVICE_NAME: 'should-not-matter' } });
    key = (await gw.createKey(['chat'])).key;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await receiver?.close();
  });

  it('forwards the caller traceparent unchanged, registers no tracer, logs no trace id', async () => {
    const traceparent = `00-${hex(16)}-${hex(8)}-01`;
    const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key, body: chat('blocking'), headers: { traceparent } });
    expect(res.status).toBe(200);
    expect(gw.sim.requests.find((r) => r.path === '/v1/chat-messages')?.headers.traceparent).toBe(traceparent);
    // The OpenTelemetry API keeps what is registered under this global; nothing was.
    const api = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[Symbol.for('opentelemetry.js.api.1')];
    expect(api?.trace).toBeUndefined();
    const line = gw.output.lines().find((l) => l.includes('"dify_call"'));
    expect(line).toBeDefined();
    expect(line).not.toContain('trace_id');
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.bodies).toEqual([]);
  });
});
