/**
 * Leak suite: fault and bad-input scenarios carrying a canary Dify key, canary caller keys and
 * canary personal data, at the most verbose log level. None of the canaries may appear in any
 * log line, response body or header, the metrics output or any database row.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { call, type Answer } from '../support/call.js';
import { lintExposition } from '../support/prom-lint.js';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const PII = {
  email: 'canary.pii+leak@example.com',
  phone: '+1 415 555 0199',
  card: '4111 1111 1111 1111',
  iban: 'DE89 3704 0044 0532 0130 00',
};
const PII_TEXT = `mail ${PII.email} call ${PII.phone} card ${PII.card} iban ${PII.iban}`;
const FAKE_CALLER_KEY = 'dgw_CANARYcallerKEY0123456789abcdefghijklmnopq';
const SECRET_TEXT = `key ${CANARY_DIFY_KEY} Bearer ${CANARY_DIFY_KEY} caller ${FAKE_CALLER_KEY}`;
const UUID = '00000000-0000-4000-8000-00000000abcd';

/** Every spelling under which a canary could leak: as sent, and with separators removed. */
function canaries(callerKey: string): Array<[string, string]> {
  return [
    ['dify key', CANARY_DIFY_KEY],
    ['dify key (tail)', CANARY_DIFY_KEY.slice(4)],
    ['caller key', callerKey],
    ['caller key (secret part)', callerKey.slice(4)],
    ['fake caller key', FAKE_CALLER_KEY],
    ['email', PII.email],
    ['email (local part)', 'canary.pii+leak'],
    ['phone', PII.phone],
    ['phone (digits)', PII.phone.replace(/\D/g, '')],
    ['card', PII.card],
    ['card (digits)', PII.card.replace(/\D/g, '')],
    ['iban', PII.iban],
    ['iban (compact)', PII.iban.replace(/ /g, '')],
  ];
}

interface Ctx {
  gw: TestGateway;
  key: string;
  auditKey: string;
}

type Scenario = [name: string, run: (ctx: Ctx) => Promise<Answer | Answer[]>];

const post = (ctx: Ctx, path: string, body: unknown, headers: Record<string, string> = {}) => call(ctx.gw.baseUrl, path, { key: ctx.key, body, headers });
const get = (ctx: Ctx, path: string, headers: Record<string, string> = {}) => call(ctx.gw.baseUrl, path, { key: ctx.key, headers });
const chat = (over: Record<string, unknown> = {}) => ({
  inputs: { note: PII_TEXT },
  query: `Hello ${PII_TEXT}`,
  user: PII.email,
  response_mode: 'blocking',
  ...over,
});
const fault = (ctx: Ctx, f: Parameters<TestGateway['sim']['addFault']>[0]) => ctx.gw.sim.addFault(f);
const noisy = `${PII_TEXT} ${SECRET_TEXT}`;

const SCENARIOS: Scenario[] = [
  ['chat blocking with personal data', (c) => post(c, '/chat-messages', chat())],
  ['chat streaming with personal data', (c) => post(c, '/chat-messages', chat({ response_mode: 'streaming' }))],
  ['completion on a chat app (Dify 400)', (c) => post(c, '/completion-messages', chat())],
  ['workflow run on a chat app (Dify 400)', (c) => post(c, '/workflows/run', { inputs: { note: PII_TEXT }, user: PII.email })],
  [
    'Dify 400 echoing input and our key',
    (c) => (fault(c, { kind: 'status', status: 400, code: 'invalid_param', message: noisy }), post(c, '/chat-messages', chat())),
  ],
  [
    'Dify 404 echoing input',
    (c) => (
      fault(c, { kind: 'status', status: 404, code: 'not_found', message: noisy }),
      get(c, `/messages?user=${encodeURIComponent(PII.email)}&conversation_id=${UUID}`)
    ),
  ],
  [
    'Dify 403 forbidden (our key refused)',
    (c) => (fault(c, { kind: 'status', status: 403, code: 'forbidden', message: noisy }), post(c, '/chat-messages', chat())),
  ],
  ['Dify 401 (our key refused)', (c) => (fault(c, { kind: 'status', status: 401, message: noisy }), get(c, '/info'))],
  [
    'Dify 403 other code, echoing input',
    (c) => (fault(c, { kind: 'status', status: 403, code: 'file_access_denied', message: noisy }), get(c, `/files/${UUID}/preview`)),
  ],
  ['Dify 413 echoing input', (c) => (fault(c, { kind: 'status', status: 413, code: 'file_too_large', message: noisy }), post(c, '/chat-messages', chat()))],
  ['Dify 429 too_many_requests echoing input, then ok', (c) => (fault(c, { kind: 'rate-limit', message: noisy }), post(c, '/chat-messages', chat()))],
  [
    'Dify 429 rate_limit_error echoing input',
    (c) => (fault(c, { kind: 'rate-limit', code: 'rate_limit_error', message: noisy, retryAfter: '7' }), post(c, '/chat-messages', chat())),
  ],
  ['Dify 500 on a read, echoing our key', (c) => (fault(c, { kind: 'status', status: 500, message: noisy }), get(c, '/parameters'))],
  ['Dify 500 on a generation', (c) => (fault(c, { kind: 'status', status: 500, message: noisy }), post(c, '/chat-messages', chat()))],
  ['Dify 503 three times', (c) => (fault(c, { kind: 'status', status: 503, message: noisy, times: 3 }), post(c, '/chat-messages', chat()))],
  ['HTML 502 page naming input and key', (c) => (fault(c, { kind: 'html', status: 502, message: noisy, times: 3 }), get(c, '/meta'))],
  ['HTML 404 page from a proxy', (c) => (fault(c, { kind: 'html', status: 404, message: noisy }), post(c, '/chat-messages', chat()))],
  ['reset before the body was read', (c) => (fault(c, { kind: 'reset' }), post(c, '/chat-messages', chat()))],
  ['reset after the body was read', (c) => (fault(c, { kind: 'reset', resetBeforeBody: false }), post(c, '/chat-messages', chat()))],
  ['reset on a read', (c) => (fault(c, { kind: 'reset', times: 3 }), get(c, '/site'))],
  ['Dify slower than the deadline', (c) => (fault(c, { kind: 'latency', delayMs: 1500 }), post(c, '/chat-messages', chat()))],
  ['malformed JSON from Dify', (c) => (fault(c, { kind: 'malformed-json' }), post(c, '/chat-messages', chat()))],
  ['stream cut mid-way', (c) => (fault(c, { kind: 'cut-stream', afterEvents: 2 }), post(c, '/chat-messages', chat({ response_mode: 'streaming' })))],
  [
    'stream error event echoing input and key',
    (c) => (
      fault(c, { kind: 'stream-error', afterEvents: 1, status: 400, code: 'completion_request_error', message: noisy }),
      post(c, '/chat-messages', chat({ response_mode: 'streaming' }))
    ),
  ],
  ['unknown caller key', (c) => call(c.gw.baseUrl, '/chat-messages', { key: FAKE_CALLER_KEY, body: chat() })],
  ['Dify key sent as the caller key', (c) => call(c.gw.baseUrl, '/chat-messages', { key: CANARY_DIFY_KEY, body: chat() })],
  ['caller key with the Basic scheme', (c) => call(c.gw.baseUrl, '/info', { headers: { authorization: `Basic ${c.key}` } })],
  ['no Authorization header', (c) => call(c.gw.baseUrl, '/chat-messages', { body: chat() })],
  ['Authorization header full of personal data', (c) => call(c.gw.baseUrl, '/info', { headers: { authorization: `Bearer ${PII.email} ${PII.card}` } })],
  [
    'caller key in a cookie and X-Api-Key, Dify key in Proxy-Authorization',
    (c) =>
      call(c.gw.baseUrl, '/info', {
        headers: { cookie: `session=${c.key}; pii=${encodeURIComponent(PII.email)}`, 'x-api-key': c.key, 'proxy-authorization': `Bearer ${CANARY_DIFY_KEY}` },
      }),
  ],
  ['malformed JSON body with personal data', (c) => post(c, '/chat-messages', `{"query": "${PII_TEXT}", "user": ${CANARY_DIFY_KEY}`)],
  ['response_mode set to personal data', (c) => post(c, '/chat-messages', chat({ response_mode: PII.email }))],
  ['missing user, personal data in the query', (c) => post(c, '/chat-messages', chat({ user: undefined }))],
  ['inputs not an object', (c) => post(c, '/chat-messages', chat({ inputs: PII_TEXT }))],
  ['JSON route with a text body', (c) => call(c.gw.baseUrl, '/chat-messages', { key: c.key, body: noisy, headers: { 'content-type': 'text/plain' } })],
  [
    'JSON body over the limit',
    (c) => post(c, '/chat-messages', JSON.stringify(chat({ pad: `${noisy} `.repeat(Math.ceil((10 * 1024 * 1024) / noisy.length)) }))),
  ],
  ['unknown path made of personal data', (c) => get(c, `/${encodeURIComponent(PII.email)}/${encodeURIComponent(PII.card)}`)],
  ['path parameter made of personal data', (c) => post(c, `/conversations/${encodeURIComponent(PII.email)}/name`, { name: PII_TEXT, user: PII.email })],
  ['wrong method with personal data', (c) => call(c.gw.baseUrl, '/chat-messages', { method: 'PUT', key: c.key, body: chat() })],
  [
    'query string of personal data',
    (c) => get(c, `/conversations?user=${encodeURIComponent(PII.email)}&last_id=${encodeURIComponent(PII.card)}&note=${encodeURIComponent(CANARY_DIFY_KEY)}`),
  ],
  ['x-request-id set to the Dify key', (c) => get(c, '/info', { 'x-request-id': CANARY_DIFY_KEY })],
  ['x-request-id set to a card number', (c) => get(c, '/info', { 'x-request-id': PII.card.replace(/ /g, '') })],
  [
    'Idempotency-Key of personal data, used twice',
    async (c) => [
      await post(c, '/chat-messages', chat(), { 'idempotency-key': `${PII.email} ${CANARY_DIFY_KEY}` }),
      await post(c, '/chat-messages', chat(), { 'idempotency-key': `${PII.email} ${CANARY_DIFY_KEY}` }),
    ],
  ],
  [
    'upload refused by Dify, personal data in the file name and user',
    (c) => {
      fault(c, { kind: 'status', status: 400, code: 'unsupported_file_type', message: noisy });
      const form = new FormData();
      form.append('user', PII.email);
      form.append('file', new Blob([PII_TEXT], { type: 'text/plain' }), `${PII.email}.txt`);
      return call(c.gw.baseUrl, '/files/upload', { key: c.key, body: form });
    },
  ],
  ['text to audio with personal data', (c) => post(c, '/text-to-audio', { text: PII_TEXT, user: PII.email })],
  ['feedback on an unknown message with personal data', (c) => post(c, `/messages/${UUID}/feedbacks`, { rating: 'like', content: PII_TEXT, user: PII.email })],
  ['rename an unknown conversation to personal data', (c) => post(c, `/conversations/${UUID}/name`, { name: PII_TEXT, user: PII.email })],
  ['delete an unknown conversation', (c) => call(c.gw.baseUrl, `/conversations/${UUID}`, { method: 'DELETE', key: c.key, body: { user: PII.email } })],
  [
    'annotation create refused by Dify (500)',
    (c) => (fault(c, { kind: 'status', status: 500, message: noisy }), post(c, '/apps/annotations', { question: PII_TEXT, answer: PII_TEXT })),
  ],
  ['stop with personal data as user', (c) => post(c, `/chat-messages/${UUID}/stop`, { user: PII.email })],
  [
    'caller leaves a stream (stop sent with the same user)',
    async (c) => {
      const controller = new AbortController();
      const res = await fetch(`${c.gw.baseUrl}/chat-messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(chat({ response_mode: 'streaming' })),
        signal: controller.signal,
      });
      const first = await res.body!.getReader().read();
      controller.abort();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { status: res.status, headers: Object.fromEntries(res.headers), text: new TextDecoder().decode(first.value), ms: 0 };
    },
  ],
  [
    'audit query with personal data in filters',
    (c) => call(c.gw.origin, `/audit/events?caller=${encodeURIComponent(PII.email)}&app=${encodeURIComponent(CANARY_DIFY_KEY)}`, { key: c.auditKey }),
  ],
  [
    'audit cursor made of personal data',
    (c) => call(c.gw.origin, `/audit/events?cursor=${Buffer.from(JSON.stringify([PII.email, CANARY_DIFY_KEY])).toString('base64url')}`, { key: c.auditKey }),
  ],
  ['audit read with the Dify key', (c) => call(c.gw.origin, '/audit/events', { key: CANARY_DIFY_KEY })],
  ['readiness probe', (c) => call(c.gw.origin, '/ready')],
];

describe('leak suite: no key or personal data in logs, answers, metrics or rows', () => {
  let gw: TestGateway;
  const ctx = {} as Ctx;
  const answers: Array<{ scenario: string; text: string }> = [];

  beforeAll(async () => {
    gw = await startTestGateway({
      db: 'postgres',
      env: { LOG_LEVEL: 'verbose', DIFY_FIRST_BYTE_TIMEOUT_MS: '1000', DIFY_BREAKER_MIN_CALLS: '100000' },
    });
    Object.assign(ctx, {
      gw,
      key: (await gw.createKey(['chat', 'workflow', 'files', 'conversations', 'feedback', 'audio', 'app:read', 'annotations'], 'leak-team')).key,
      auditKey: (await gw.createKey(['audit:read'], 'leak-auditor')).key,
    });
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  it(`runs at least 40 scenarios (${SCENARIOS.length})`, () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(SCENARIOS)('%s', async (name, run) => {
    gw.sim.clearFaults();
    const logStart = gw.output.text().length;
    const result = await run(ctx);
    for (const answer of Array.isArray(result) ? result : [result]) {
      const text = `${JSON.stringify(answer.headers)}\n${answer.text}`;
      answers.push({ scenario: name, text });
      for (const [what, canary] of canaries(ctx.key)) expect(`${what}: ${text.includes(canary)}`).toBe(`${what}: false`);
    }
    const logs = gw.output.text().slice(logStart);
    for (const [what, canary] of canaries(ctx.key)) expect(`${what} in logs: ${logs.includes(canary)}`).toBe(`${what} in logs: false`);
  });

  it('leaves nothing in the whole log, the metrics or any database row', async () => {
    const metrics = (await call(gw.origin, '/metrics')).text;
    const client = new pg.Client({ connectionString: gw.db.url });
    await client.connect();
    let rows = '';
    try {
      const tables = await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
      for (const { table_name } of tables.rows) rows += JSON.stringify((await client.query(`SELECT * FROM "${table_name}"`)).rows);
    } finally {
      await client.end();
    }
    expect(rows).toContain('leak-team'); // the rows are there...
    expect(metrics).toContain('dify_gateway_requests_total');
    // The live exposition (process metrics, every family fed by real calls) passes the naming rules.
    expect(lintExposition(metrics, { prefix: 'dify_gateway_', forbiddenHistogramLabels: ['key'] })).toEqual([]);
    // The streams above fed the time to first byte, and Dify's usage the per-key token counter.
    expect(metrics).toMatch(/^dify_gateway_stream_first_byte_seconds_count\{route="chat.create",app="default"\} [1-9]/m);
    expect(metrics).toMatch(/^dify_gateway_tokens_total\{app="default",key="[0-9a-f-]+"\} [1-9]/m);
    // Every call's write-ahead was timed; the backlogs are read at scrape time.
    expect(metrics).toMatch(/^dify_gateway_audit_write_ahead_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^dify_gateway_audit_backlog_events\{queue="inbox"\} \d+$/m);
    const logs = gw.output.text();
    expect(logs).toContain('"requestId"');
    for (const [what, canary] of canaries(ctx.key)) {
      expect(`${what} in logs: ${logs.includes(canary)}`).toBe(`${what} in logs: false`);
      expect(`${what} in metrics: ${metrics.includes(canary)}`).toBe(`${what} in metrics: false`);
      expect(`${what} in rows: ${rows.includes(canary)}`).toBe(`${what} in rows: false`);
    }
    // ...and so are the Dify key and the personal data, upstream, where they belong.
    expect(gw.sim.requests.some((r) => r.appKey === CANARY_DIFY_KEY)).toBe(true);
    expect(gw.sim.requests.some((r) => r.user?.endsWith(`:${PII.email}`))).toBe(true); // in the team's namespace
  });

  it('writes every log line as JSON with a level, and the request id on every line of a request', () => {
    const lines = gw.output.lines().filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(SCENARIOS.length);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('level');
    const requestLines = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'dify_call' || l.event === 'dify_retry' || l.event === 'dify_task_stop');
    expect(requestLines.length).toBeGreaterThan(40);
    for (const line of requestLines) expect(typeof line.requestId).toBe('string');
  });
});
