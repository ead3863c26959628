/**
 * Keys never leak. With LOG_LEVEL=verbose, after every kind of upstream failure, odd caller
 * behaviour and hostile input, neither the Dify key (CANARY_DIFY_KEY) nor the caller's gateway key
 * appears in any captured log line, response (status line, headers, body) or database row, while
 * the Dify key does reach Dify (so these checks can fail).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';
import { call, databaseText, dataOf, SseClient, type CallOptions, type CallResult } from '../support/e2e-client.js';
import { DATABASE_SETUP_TIMEOUT_MS } from '../support/database.js';

// Short, for the timeout scenario; not so short that a first call on a busy machine (parallel test
// files on 2 cores) times out where the scenario wants an answer.
const FIRST_BYTE_TIMEOUT_MS = 1500;

/** Substrings whose presence means a key leaked (whole keys and their secret parts). */
function secretFragments(callerKey: string): string[] {
  return [
    CANARY_DIFY_KEY,
    CANARY_DIFY_KEY.slice('app-'.length),
    'CANARYdifyKEY',
    callerKey,
    callerKey.slice(10), // what follows the displayable prefix (dgw_ + 6 characters)
  ];
}

function leaksIn(where: string, text: string, callerKey: string): Array<{ where: string; leaked: string[] }> {
  const leaked = secretFragments(callerKey).filter((fragment) => text.includes(fragment));
  return leaked.length > 0 ? [{ where, leaked }] : [];
}

function expectNoSecret(where: string, text: string, callerKey: string): void {
  expect(leaksIn(where, text, callerKey)).toEqual([]);
}

interface ScenarioContext {
  gw: TestGateway;
  /** The caller's gateway key (a canary as well). */
  key: string;
  /** Every answer the caller saw, as raw text; checked for leaks at the end. */
  seen: Array<{ where: string; text: string }>;
}

/** How a request is named in failure messages: the key itself, when the request carries it, is not repeated. */
const label = (ctx: ScenarioContext, method: string, path: string) => `${method} ${path.split(ctx.key).join('<caller-key>')}`;

/** A call whose full answer (status, headers, body) is kept for the final leak check. */
async function send(ctx: ScenarioContext, method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const res = await call(ctx.gw.origin, method, path, options);
  ctx.seen.push({ where: label(ctx, method, path), text: res.raw });
  return res;
}

async function sendStream(ctx: ScenarioContext, path: string, options: CallOptions): Promise<SseClient> {
  const stream = await SseClient.open(ctx.gw.origin, path, options);
  await stream.rest();
  ctx.seen.push({ where: `${label(ctx, 'POST', path)} (stream)`, text: `${stream.status}\n${JSON.stringify(stream.headers)}\n${stream.text}` });
  return stream;
}

const chatBody = (extra: Record<string, unknown> = {}) => ({ inputs: {}, query: 'hello', user: 'secret-user', response_mode: 'blocking', ...extra });

/** Each scenario provokes one way a key could escape; the answer itself is checked too. */
const SCENARIOS: Array<{ name: string; run(ctx: ScenarioContext): Promise<void> }> = [
  {
    name: 'a normal call',
    async run(ctx) {
      const res = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody() });
      expect(res.status).toBe(200);
    },
  },
  {
    name: 'upstream 500 (whose message even quotes the key)',
    async run(ctx) {
      ctx.gw.sim.addFault({ kind: 'status', status: 500, message: `boom with Bearer ${CANARY_DIFY_KEY}`, match: { path: '/chat-messages' } });
      const res = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody() });
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ code: 'dify_outcome_unknown' }); // issue 3: a POST that may have run says so
    },
  },
  {
    name: 'upstream 4xx whose message quotes the key is passed through masked',
    async run(ctx) {
      ctx.gw.sim.addFault({ kind: 'status', status: 400, code: 'invalid_param', message: `key ${CANARY_DIFY_KEY} is odd`, match: { path: '/chat-messages' } });
      const res = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody() });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ code: 'invalid_param', message: 'key *** is odd' });
    },
  },
  {
    name: 'an HTML 502 page from a proxy (quoting the key)',
    async run(ctx) {
      ctx.gw.sim.addFault({ kind: 'html', status: 502, message: `Bad Gateway ${CANARY_DIFY_KEY}`, match: { path: '/chat-messages' } });
      const res = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody() });
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ code: 'dify_outcome_unknown' }); // issue 3: a POST that may have run says so
    },
  },
  {
    name: 'a connection reset (POST after the body, GET every time)',
    async run(ctx) {
      ctx.gw.sim.addFault({ kind: 'reset', resetBeforeBody: false, match: { path: '/chat-messages' } });
      const post = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody() });
      expect(post.status).toBe(502);
      expect(post.json).toMatchObject({ code: 'dify_outcome_unknown' });
      ctx.gw.sim.addFault({ kind: 'reset', match: { path: '/info' }, times: Infinity });
      const get = await send(ctx, 'GET', '/v1/info', { key: ctx.key });
      ctx.gw.sim.clearFaults();
      expect(get.status).toBe(502);
    },
  },
  {
    name: 'a timeout',
    async run(ctx) {
      ctx.gw.sim.addFault({ kind: 'latency', delayMs: FIRST_BYTE_TIMEOUT_MS + 2000, match: { path: '/chat-messages' } });
      const res = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody() });
      expect(res.status).toBe(504);
      expect(res.json).toMatchObject({ code: 'dify_outcome_unknown' }); // issue 3: a POST that may have run says so
    },
  },
  {
    name: '429 with Retry-After (message quoting the key)',
    async run(ctx) {
      ctx.gw.sim.addFault({
        kind: 'rate-limit',
        code: 'rate_limit_error',
        retryAfter: '5',
        message: `limit for ${CANARY_DIFY_KEY}`,
        match: { path: '/chat-messages' },
      });
      const res = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody() });
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('5');
    },
  },
  {
    name: 'malformed JSON from Dify',
    async run(ctx) {
      ctx.gw.sim.addFault({ kind: 'malformed-json', match: { path: '/info' } });
      const res = await send(ctx, 'GET', '/v1/info', { key: ctx.key });
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ code: 'dify_bad_response' });
    },
  },
  {
    name: 'a cut stream',
    async run(ctx) {
      ctx.gw.sim.addFault({ kind: 'cut-stream', afterEvents: 2, match: { path: '/chat-messages' } });
      const stream = await sendStream(ctx, '/v1/chat-messages', { key: ctx.key, body: chatBody({ response_mode: 'streaming' }) });
      expect(dataOf(stream.events).at(-1)).toMatchObject({ event: 'error', code: 'dify_stream_interrupted' });
    },
  },
  {
    name: 'the caller key in the query string and in body fields',
    async run(ctx) {
      const q = await send(ctx, 'GET', `/v1/info?key=${ctx.key}&api_key=${ctx.key}`, { key: ctx.key });
      expect(q.status).toBe(200);
      const body = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody({ api_key: ctx.key, inputs: { token: ctx.key } }) });
      expect(body.status).toBe(200);
      const noAuth = await send(ctx, 'GET', `/v1/info?key=${ctx.key}`);
      expect(noAuth.status).toBe(401);
      const bodyOnly = await send(ctx, 'POST', '/v1/chat-messages', { body: chatBody({ api_key: ctx.key }) });
      expect(bodyOnly.status).toBe(401);
    },
  },
  {
    name: 'the caller key in other headers and wrong schemes',
    async run(ctx) {
      const attempts: CallOptions[] = [
        { headers: { 'x-api-key': ctx.key } },
        { headers: { cookie: `session=${ctx.key}; api_key=${ctx.key}` } },
        { headers: { authorization: `Basic ${ctx.key}` } },
        { headers: { authorization: `Token ${ctx.key}` } },
        { headers: { authorization: `Bearer ${ctx.key} extra` } },
        { headers: { authorization: `Bearer ${ctx.key}Z` } }, // well formed, unknown
        { headers: { authorization: `Bearer ${ctx.key.slice(0, 20)}` } }, // malformed
        { headers: { authorization: ctx.key } },
      ];
      for (const options of attempts) {
        const res = await send(ctx, 'GET', '/v1/info', options);
        expect(res.status).toBe(401);
      }
      const withDifyKey = await send(ctx, 'GET', '/v1/info', { headers: { authorization: `Bearer ${CANARY_DIFY_KEY}` } });
      expect(withDifyKey.status).toBe(401);
    },
  },
  {
    name: 'the caller key in paths and audit filters',
    async run(ctx) {
      expect((await send(ctx, 'GET', `/v1/${ctx.key}`, { key: ctx.key })).status).toBe(404);
      expect((await send(ctx, 'POST', `/v1/conversations/${ctx.key}/name`, { key: ctx.key, body: { name: 'x', user: 'u' } })).status).toBe(404);
      expect((await send(ctx, 'GET', `/v1/messages/${ctx.key.replace('_', '-')}/suggested?user=u`, { key: ctx.key })).status).toBeGreaterThanOrEqual(400);
      expect((await send(ctx, 'GET', `/audit/events?caller=${ctx.key}`, { key: ctx.key })).status).toBe(400);
      expect((await send(ctx, 'GET', `/audit/events?cursor=${ctx.key}`, { key: ctx.key })).status).toBe(400);
      expect((await send(ctx, 'GET', `/audit/events/${ctx.key}`, { key: ctx.key })).status).toBe(400);
      expect((await send(ctx, 'GET', `/audit/events?app=${ctx.key}`, { key: ctx.key })).status).toBe(400);
    },
  },
  {
    name: 'hostile bodies that get the key echoed in error messages',
    async run(ctx) {
      // Dify quotes a bad conversation id back: the gateway masks it.
      const echoed = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, body: chatBody({ conversation_id: ctx.key }) });
      expect(echoed.status).toBe(400);
      expect(echoed.json).toMatchObject({ code: 'invalid_param' });
      const cases: CallOptions[] = [
        { body: `{"query": "${ctx.key}", "user": ` }, // truncated JSON
        { body: `["${ctx.key}"]` },
        { body: chatBody({ response_mode: ctx.key }) },
        { body: chatBody({ inputs: ctx.key }) },
        { body: chatBody({ user: { key: ctx.key } }) },
        { body: chatBody({ query: { [ctx.key]: ctx.key } }) },
        { body: ctx.key, headers: { 'content-type': 'text/plain' } },
        { body: `{"query":"${ctx.key}"}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      ];
      for (const c of cases) {
        const res = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, headers: { 'content-type': 'application/json', ...c.headers }, body: c.body });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      }
      expect((await send(ctx, 'PATCH', `/v1/info?token=${ctx.key}`, { key: ctx.key })).status).toBe(405);
    },
  },
];

/** The final checks, shared by every gateway: every place is searched, then all leaks are reported at once. */
async function expectNothingLeaked(ctx: ScenarioContext, minimumAnswers = 20): Promise<void> {
  const { gw, key } = ctx;
  const leaks: Array<{ where: string; leaked: string[] }> = [];

  // The Dify key did reach Dify, and only the Dify key was ever sent as its credential.
  expect(gw.sim.requests.length).toBeGreaterThan(minimumAnswers > 5 ? 5 : 0);
  expect(gw.sim.requests.some((r) => r.appKey === CANARY_DIFY_KEY)).toBe(true);
  for (const r of gw.sim.requests) {
    expect(r.headers.authorization).toBe(`Bearer ${CANARY_DIFY_KEY}`);
    leaks.push(...leaksIn(`headers of upstream request ${r.method} ${r.path}`, JSON.stringify({ ...r.headers, authorization: undefined }), key));
  }

  // Logs: verbose, and they did capture the calls (otherwise an empty capture would pass).
  const logs = gw.output.text();
  expect(logs).toContain('dify_call');
  leaks.push(...leaksIn('logs', logs, key));

  // Everything the callers saw.
  expect(ctx.seen.length).toBeGreaterThanOrEqual(minimumAnswers);
  for (const answer of ctx.seen) leaks.push(...leaksIn(`answer to ${answer.where}`, answer.text, key));

  // The database, every table, and the audit API.
  const db = await databaseText(gw);
  expect(db).toContain('audit_events');
  leaks.push(...leaksIn('database', db, key));
  const auditor = await gw.createKey(['audit:read'], 'secrets-auditor');
  const listed = await call(gw.origin, 'GET', '/audit/events?limit=200', { key: auditor.key });
  expect(listed.status).toBe(200);
  expect(listed.json.data.length).toBeGreaterThanOrEqual(minimumAnswers / 2);
  leaks.push(...leaksIn('GET /audit/events', listed.raw, key));
  leaks.push(...leaksIn('GET /audit/events (auditor key)', listed.raw, auditor.key));

  expect(leaks).toEqual([]);
}

describe('secrets with LOG_LEVEL=verbose (pglite)', () => {
  const ctx = {} as ScenarioContext;

  beforeAll(async () => {
    ctx.gw = await startTestGateway({
      db: 'pglite',
      simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }], answer: 'a short answer' },
      env: { LOG_LEVEL: 'verbose', DIFY_FIRST_BYTE_TIMEOUT_MS: String(FIRST_BYTE_TIMEOUT_MS) },
    });
    ctx.key = (await ctx.gw.createKey(['chat', 'conversations', 'app:read', 'audit:read'], 'secret-keeper')).key;
    ctx.seen = [];
  }, DATABASE_SETUP_TIMEOUT_MS); // a gateway boot, on a machine busy with the other test workers
  afterAll(() => ctx.gw?.close());

  for (const scenario of SCENARIOS) {
    it(`answers without a key after ${scenario.name}`, async () => {
      const before = ctx.seen.length;
      ctx.gw.sim.clearFaults();
      await scenario.run(ctx);
      for (const answer of ctx.seen.slice(before)) expectNoSecret(`answer to ${answer.where}`, answer.text, ctx.key);
    });
  }

  it('relays a Dify error event inside a stream without the key it quotes', async () => {
    ctx.gw.sim.addFault({
      kind: 'stream-error',
      afterEvents: 1,
      status: 400,
      code: 'completion_request_error',
      message: `provider refused ${CANARY_DIFY_KEY}`,
      match: { path: '/chat-messages' },
    });
    // Read apart from the shared answers: this test reports its own finding.
    const stream = await SseClient.open(ctx.gw.origin, '/v1/chat-messages', { key: ctx.key, body: chatBody({ response_mode: 'streaming' }) });
    await stream.rest();
    expect(dataOf(stream.events).at(-1)).toMatchObject({ event: 'error', code: 'completion_request_error' });
    // A Dify error outside a stream is masked (see "upstream 4xx ... masked"); inside a stream it must be too.
    expectNoSecret('stream with a Dify error event', stream.text, ctx.key);
  });

  it('leaks neither key into logs, answers or the database, while the Dify key reached Dify', async () => {
    await expectNothingLeaked(ctx);
  });
});

describe('secrets when Dify refuses the gateway key (401 from Dify)', () => {
  let gw: TestGateway;
  let key: string;
  const seen: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({
      // The simulator knows another key than the one the gateway sends.
      simulator: { apps: [{ key: 'app-SIMULATORknowsOTHERkey01', mode: 'chat' }] },
      env: { LOG_LEVEL: 'verbose', DIFY_API_KEY: CANARY_DIFY_KEY },
    });
    key = (await gw.createKey(['chat', 'app:read'])).key;
  }, DATABASE_SETUP_TIMEOUT_MS); // a gateway boot, on a machine busy with the other test workers
  afterAll(() => gw?.close());

  it('answers 502 dify_auth, alerts in the log, and never shows the key', async () => {
    for (const [method, path, body] of [
      ['POST', '/v1/chat-messages', chatBody()],
      ['GET', '/v1/info', undefined],
      ['POST', '/v1/chat-messages', chatBody({ response_mode: 'streaming' })],
    ] as const) {
      const res = await call(gw.origin, method, path, { key, body });
      seen.push(res.raw);
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ code: 'dify_auth', status: 502 });
    }
    const ready = await call(gw.origin, 'GET', '/ready');
    seen.push(ready.raw);
    expect(ready.status).toBe(503);

    // The gateway did send its (wrong) key to Dify.
    expect(gw.sim.requests.length).toBeGreaterThanOrEqual(3);
    expect(gw.sim.requests.every((r) => r.appKey === CANARY_DIFY_KEY)).toBe(true);

    const logs = gw.output.text();
    expect(logs).toContain('Dify refused the key');
    expectNoSecret('logs', logs, key);
    for (const answer of seen) expectNoSecret('answer', answer, key);
    expectNoSecret('database', await databaseText(gw), key);
  });
});

describe('secrets when a caller sends its key as x-request-id', () => {
  const ctx = {} as ScenarioContext;

  beforeAll(async () => {
    ctx.gw = await startTestGateway({ simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }] }, env: { LOG_LEVEL: 'verbose' } });
    ctx.key = (await ctx.gw.createKey(['chat', 'app:read'], 'careless-caller')).key;
    ctx.seen = [];
  }, DATABASE_SETUP_TIMEOUT_MS); // a gateway boot, on a machine busy with the other test workers
  afterAll(() => ctx.gw?.close());

  it('neither echoes, forwards, logs nor stores a request id that is a key', async () => {
    const ok = await send(ctx, 'GET', '/v1/info', { key: ctx.key, headers: { 'x-request-id': ctx.key } });
    expect(ok.status).toBe(200);
    const chat = await send(ctx, 'POST', '/v1/chat-messages', { key: ctx.key, headers: { 'x-request-id': ctx.key }, body: chatBody() });
    expect(chat.status).toBe(200);
    const rejected = await send(ctx, 'GET', '/v1/info', { headers: { 'x-request-id': ctx.key } });
    expect(rejected.status).toBe(401);
    await expectNothingLeaked(ctx, 3);
  });
});

describe('secrets on Postgres (LOG_FORMAT=text)', () => {
  const ctx = {} as ScenarioContext;

  beforeAll(async () => {
    ctx.gw = await startTestGateway({
      db: 'postgres',
      simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }], answer: 'a short answer' },
      env: { LOG_LEVEL: 'verbose', LOG_FORMAT: 'text', DIFY_FIRST_BYTE_TIMEOUT_MS: String(FIRST_BYTE_TIMEOUT_MS) },
    });
    ctx.key = (await ctx.gw.createKey(['chat', 'conversations', 'app:read', 'audit:read'], 'pg-secret-keeper')).key;
    ctx.seen = [];
  }, DATABASE_SETUP_TIMEOUT_MS); // a gateway boot, on a machine busy with the other test workers
  afterAll(() => ctx.gw?.close());

  it('runs every scenario, then finds no key anywhere while the Dify key reached Dify', async () => {
    for (const scenario of SCENARIOS) {
      ctx.gw.sim.clearFaults();
      try {
        await scenario.run(ctx);
      } catch (error) {
        throw new Error(`scenario "${scenario.name}": ${(error as Error).message}`, { cause: error });
      }
    }
    expect(ctx.gw.db.kind).toBe('postgres');
    await expectNothingLeaked(ctx);
  }, 60_000);
});
