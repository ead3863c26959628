/**
 * Chaos suite: the simulator's scripted faults against the real gateway. Each scenario asserts
 * how many attempts the simulator received (a POST that may have run is never received twice),
 * the caller's status and error code, and the audit row's attempts. Set CHAOS_TABLE=<file> to
 * write the observed table (markdown) to a file.
 *
 * @run-alone its answers are timed ("refused at once": under 100 ms), which other test files
 * beside it on a 2-core machine would make flaky (test/support/run-alone.cjs)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fault } from '../../simulator/dify-simulator.js';
import { call, sseEvents } from '../support/call.js';
import { eventually } from '../support/e2e-client.js';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const WORKFLOW_KEY = 'app-WORKFLOWchaos0123456789';
const TABLE = process.env.CHAOS_TABLE;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function appsFile(deadPort: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-chaos-'));
  const file = join(dir, 'apps.json');
  writeFileSync(
    file,
    JSON.stringify({ apps: { wf: { apiKeyEnv: 'WF_DIFY_KEY' }, dead: { apiKeyEnv: 'DEAD_DIFY_KEY', baseUrl: `http://127.0.0.1:${deadPort}/v1` } } }),
  );
  return file;
}

function record(row: string[]): void {
  if (TABLE) appendFileSync(TABLE, `| ${row.join(' | ')} |\n`);
}

interface Scenario {
  name: string;
  /** A function for faults that must be computed when the scenario runs (an HTTP date). */
  faults: Fault[] | (() => Promise<Fault[]>);
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Which key (by app) calls. */
  app?: 'default' | 'wf' | 'dead';
  attempts: number;
  status: number;
  code?: string;
  retryAfter?: string;
  /** For streams: the code of the final in-stream error event. */
  eventCode?: string;
  /** Lower bound of the call's duration (Retry-After honoured). */
  minMs?: number;
}

const chat = (mode: 'blocking' | 'streaming' = 'blocking') => ({ inputs: {}, query: 'Hello', user: 'chaos-user', response_mode: mode });
/** An HTTP date (whole seconds) 0.9 to 1 s from now: waits for the start of a second first. */
async function httpDateAboutOneSecondAhead(): Promise<string> {
  while (Date.now() % 1000 > 100) await new Promise((resolve) => setTimeout(resolve, 10));
  return new Date(Date.now() + 1000).toUTCString();
}

const SCENARIOS: Scenario[] = [
  // Reads (idempotent): network errors, 429 too_many_requests, 502, 503, 504 are retried.
  { name: 'GET 503 once', faults: [{ kind: 'status', status: 503 }], method: 'GET', path: '/info', attempts: 2, status: 200 },
  {
    name: 'GET 502 three times',
    faults: [{ kind: 'status', status: 502, times: 3 }],
    method: 'GET',
    path: '/info',
    attempts: 3,
    status: 502,
    code: 'dify_unavailable',
  },
  { name: 'GET 504 once', faults: [{ kind: 'status', status: 504 }], method: 'GET', path: '/info', attempts: 2, status: 200 },
  {
    name: 'GET 500 (not retried)',
    faults: [{ kind: 'status', status: 500 }],
    method: 'GET',
    path: '/info',
    attempts: 1,
    status: 502,
    code: 'dify_unavailable',
  },
  { name: 'GET reset before answer', faults: [{ kind: 'reset' }], method: 'GET', path: '/info', attempts: 2, status: 200 },
  {
    name: 'GET HTML 502 page three times',
    faults: [{ kind: 'html', status: 502, times: 3 }],
    method: 'GET',
    path: '/info',
    attempts: 3,
    status: 502,
    code: 'dify_bad_response',
  },
  {
    name: 'GET slower than the deadline',
    faults: [{ kind: 'latency', delayMs: 2500 }],
    method: 'GET',
    path: '/info',
    attempts: 1,
    status: 504,
    code: 'dify_timeout',
  },
  {
    name: 'GET 429 too_many_requests, Retry-After 1',
    faults: [{ kind: 'rate-limit', retryAfter: '1' }],
    method: 'GET',
    path: '/info',
    attempts: 2,
    status: 200,
    minMs: 950,
  },
  {
    name: 'GET 429 rate_limit_error (quota)',
    faults: [{ kind: 'rate-limit', code: 'rate_limit_error', message: 'Rate Limit Error' }],
    method: 'GET',
    path: '/info',
    attempts: 1,
    status: 429,
    code: 'rate_limit_error',
    retryAfter: '1',
  },
  { name: 'GET malformed JSON (200)', faults: [{ kind: 'malformed-json' }], method: 'GET', path: '/info', attempts: 1, status: 502, code: 'dify_bad_response' },
  // Generation POSTs (unsafe): only 429 too_many_requests, 503 and "never sent" are retried.
  { name: 'POST chat 503 once', faults: [{ kind: 'status', status: 503 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 2, status: 200 },
  {
    name: 'POST chat 503 three times',
    faults: [{ kind: 'status', status: 503, times: 3 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 3,
    status: 502,
    code: 'dify_unavailable',
  },
  {
    name: 'POST chat 429 too_many_requests (no Retry-After)',
    faults: [{ kind: 'rate-limit' }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 2,
    status: 200,
  },
  {
    name: 'POST chat 429 Retry-After as HTTP date',
    faults: async () => [{ kind: 'rate-limit', retryAfter: await httpDateAboutOneSecondAhead() }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 2,
    status: 200,
    minMs: 700,
  },
  {
    name: 'POST chat 429 rate_limit_error (quota)',
    faults: [{ kind: 'rate-limit', code: 'rate_limit_error', message: 'Rate Limit Error', retryAfter: '20' }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 429,
    code: 'rate_limit_error',
    retryAfter: '20',
  },
  {
    name: 'POST chat 429 Retry-After 30 (above the cap)',
    faults: [{ kind: 'rate-limit', retryAfter: '30' }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 429,
    code: 'too_many_requests',
    retryAfter: '30',
  },
  {
    name: 'POST chat 429 Retry-After 2 (longer than the time left)',
    faults: [{ kind: 'rate-limit', retryAfter: '2' }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 429,
    code: 'too_many_requests',
    retryAfter: '2',
  },
  {
    name: 'POST chat 500',
    faults: [{ kind: 'status', status: 500 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 502,
    code: 'dify_outcome_unknown',
  },
  {
    name: 'POST chat 502',
    faults: [{ kind: 'status', status: 502 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 502,
    code: 'dify_outcome_unknown',
  },
  {
    name: 'POST chat 504',
    faults: [{ kind: 'status', status: 504 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 502,
    code: 'dify_outcome_unknown',
  },
  {
    name: 'POST chat HTML 502 page',
    faults: [{ kind: 'html', status: 502 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 502,
    code: 'dify_outcome_unknown',
  },
  { name: 'POST chat HTML 503 page', faults: [{ kind: 'html', status: 503 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 2, status: 200 },
  {
    name: 'POST chat reset before the body was read',
    faults: [{ kind: 'reset' }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 502,
    code: 'dify_outcome_unknown',
  },
  {
    name: 'POST chat reset after the body was read',
    faults: [{ kind: 'reset', resetBeforeBody: false }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 502,
    code: 'dify_outcome_unknown',
  },
  {
    name: 'POST chat slower than the deadline',
    faults: [{ kind: 'latency', delayMs: 2500 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 504,
    code: 'dify_outcome_unknown',
  },
  {
    name: 'POST chat malformed JSON (200)',
    faults: [{ kind: 'malformed-json' }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 502,
    code: 'dify_bad_response',
  },
  {
    name: 'POST chat, Dify refuses our key (401)',
    faults: [{ kind: 'status', status: 401 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 502,
    code: 'dify_auth',
  },
  {
    name: 'POST chat, Dify 400 invalid_param',
    faults: [{ kind: 'status', status: 400, code: 'invalid_param', message: 'query is required' }],
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 1,
    status: 400,
    code: 'invalid_param',
  },
  {
    name: 'POST chat, connection refused (app on a closed port)',
    faults: [],
    app: 'dead',
    method: 'POST',
    path: '/chat-messages',
    body: chat(),
    attempts: 0,
    status: 502,
    code: 'dify_unavailable',
  },
  {
    name: 'POST chat stream 503 before it began',
    faults: [{ kind: 'status', status: 503 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat('streaming'),
    attempts: 2,
    status: 200,
  },
  {
    name: 'POST chat stream cut mid-way',
    faults: [{ kind: 'cut-stream', afterEvents: 2 }],
    method: 'POST',
    path: '/chat-messages',
    body: chat('streaming'),
    attempts: 1,
    status: 200,
    eventCode: 'dify_stream_interrupted',
  },
  {
    name: 'POST chat stream with an error event',
    faults: [{ kind: 'stream-error', afterEvents: 2, status: 400, code: 'completion_request_error', message: 'model failed' }],
    method: 'POST',
    path: '/chat-messages',
    body: chat('streaming'),
    attempts: 1,
    status: 200,
    eventCode: 'completion_request_error',
  },
  {
    name: 'POST workflow run 503 three times',
    faults: [{ kind: 'status', status: 503, times: 3 }],
    app: 'wf',
    method: 'POST',
    path: '/workflows/run',
    body: { inputs: {}, user: 'chaos-user', response_mode: 'blocking' },
    attempts: 3,
    status: 502,
    code: 'dify_unavailable',
  },
  {
    name: 'POST workflow run reset',
    faults: [{ kind: 'reset' }],
    app: 'wf',
    method: 'POST',
    path: '/workflows/run',
    body: { inputs: {}, user: 'chaos-user', response_mode: 'blocking' },
    attempts: 1,
    status: 502,
    code: 'dify_outcome_unknown',
  },
  {
    name: 'POST feedback reset',
    faults: [{ kind: 'reset' }],
    method: 'POST',
    path: '/messages/00000000-0000-4000-8000-000000000001/feedbacks',
    body: { rating: 'like', user: 'chaos-user' },
    attempts: 1,
    status: 502,
    code: 'dify_outcome_unknown',
  },
  {
    name: 'POST stop (idempotent) 502 once',
    faults: [{ kind: 'status', status: 502 }],
    method: 'POST',
    path: '/chat-messages/00000000-0000-4000-8000-000000000002/stop',
    body: { user: 'chaos-user' },
    attempts: 2,
    status: 200,
  },
];

describe('chaos: retries never double-spend', () => {
  let gw: TestGateway;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    if (TABLE) writeFileSync(TABLE, '| scenario | faults | attempts seen by Dify | answer | Retry-After | ms |\n|---|---|---|---|---|---|\n');
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: CANARY_DIFY_KEY, mode: 'chat' },
          { key: WORKFLOW_KEY, mode: 'workflow' },
        ],
      },
      env: {
        DIFY_APPS_FILE: appsFile(await closedPort()),
        WF_DIFY_KEY: WORKFLOW_KEY,
        DEAD_DIFY_KEY: 'app-DEADdeadDEAD0123456789',
        DIFY_FIRST_BYTE_TIMEOUT_MS: '1500',
        DIFY_RETRY_AFTER_MAX_MS: '2000',
        DIFY_BREAKER_FAILURE_PERCENT: '0',
      },
    });
    for (const app of ['default', 'wf', 'dead'])
      keys[app] = (await gw.createKey(['chat', 'workflow', 'feedback', 'app:read', 'files'], `chaos-${app}`, app)).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  beforeEach(() => gw.sim.reset());

  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const faults = typeof s.faults === 'function' ? await s.faults() : s.faults;
    for (const fault of faults) gw.sim.addFault({ match: { path: s.path }, ...fault });
    const answer = await call(gw.baseUrl, s.path, { method: s.method, key: keys[s.app ?? 'default'], body: s.body });
    const attempts = gw.sim.requests.filter((r) => r.path === `/v1${s.path}` && r.method === s.method).length;
    const events = answer.headers['content-type']?.startsWith('text/event-stream') ? sseEvents(answer.text) : [];
    const last = events.at(-1);
    record([
      s.name,
      faults.map((f) => `${f.kind}${f.status ? ` ${f.status}` : ''}${f.code ? ` ${f.code}` : ''}${f.times ? ` ×${f.times}` : ''}`).join(', ') || '—',
      String(attempts),
      `${answer.status} ${answer.json?.code ?? (last?.event === 'error' ? `stream error event ${String(last.code)}` : '')}`.trim(),
      answer.headers['retry-after'] ?? '',
      String(answer.ms),
    ]);
    expect(attempts).toBe(s.attempts);
    expect(answer.status).toBe(s.status);
    if (s.code) expect(answer.json?.code).toBe(s.code);
    if (s.code) expect(answer.json?.request_id).toBe(answer.headers['x-request-id']);
    if (s.retryAfter) expect(answer.headers['retry-after']).toBe(s.retryAfter);
    if (s.eventCode) expect(last).toMatchObject({ event: 'error', code: s.eventCode });
    if (s.status === 200 && !s.eventCode && events.length > 0) expect(last?.event).toBe('message_end');
    if (s.minMs) expect(answer.ms).toBeGreaterThanOrEqual(s.minMs);
    // Never longer than the one deadline plus a little: retries never exceed it.
    expect(answer.ms).toBeLessThan(1500 + 1000);
  });

  it('keeps every retry of a call within its one deadline', async () => {
    gw.sim.addFault({ match: { path: '/info' }, kind: 'status', status: 503, retryAfter: '1', times: 10 });
    const answer = await call(gw.baseUrl, '/info', { key: keys.default });
    const attempts = gw.sim.requests.filter((r) => r.path === '/v1/info').length;
    record([
      'GET 503 Retry-After 1, always (deadline 1.5 s)',
      'status 503 ×10',
      String(attempts),
      `${answer.status} ${answer.json?.code}`,
      answer.headers['retry-after'] ?? '',
      String(answer.ms),
    ]);
    expect(attempts).toBe(2); // t=0 and t≈1 s; a third would start after the deadline
    expect(answer.status).toBe(502);
    expect(answer.json?.code).toBe('dify_unavailable');
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.ms).toBeLessThan(1500);
  });

  it('counts attempts in the audit row, also those that never reached Dify', async () => {
    const answer = await call(gw.baseUrl, '/chat-messages', { key: keys.dead, body: chat() });
    expect(answer.status).toBe(502);
    const read = gw.app.get((await import('../../src/audit/read/audit-read.repository.js')).AuditReadRepository);
    const finished = async () =>
      (await read.search({}, { limit: 50 })).find((e) => e.type === 'call.finished' && e.requestId === answer.headers['x-request-id']);
    // call.finished is written after the answer (not awaited): give it a moment.
    for (let i = 0; i < 50 && !(await finished()); i++) await sleep(20);
    expect(await finished()).toMatchObject({ attempts: 3, errorCode: 'dify_unavailable', outcome: 'upstream_error' });
  });
});

/** One sample of a Prometheus text exposition, by metric name and labels. */
function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const want = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (want) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('chaos: breaker, bulkhead, Idempotency-Key, abandoned streams', () => {
  let gw: TestGateway;
  const keys: Record<string, string> = {};
  const metrics = async () => (await call(gw.origin, '/metrics')).text;
  const upstream = (path: string, method = 'GET') => gw.sim.requests.filter((r) => r.path === `/v1${path}` && r.method === method).length;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-chaos-'));
    const file = join(dir, 'apps.json');
    writeFileSync(file, JSON.stringify({ apps: { brk: { apiKeyEnv: 'BRK_DIFY_KEY' }, wf: { apiKeyEnv: 'WF_DIFY_KEY' } } }));
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: CANARY_DIFY_KEY, mode: 'chat' },
          { key: WORKFLOW_KEY, mode: 'workflow' },
        ],
        streamChunkDelayMs: 60,
        pingIntervalMs: 1000,
      },
      env: {
        DIFY_APPS_FILE: file,
        BRK_DIFY_KEY: CANARY_DIFY_KEY,
        WF_DIFY_KEY: WORKFLOW_KEY,
        DIFY_MAX_RETRIES: '0',
        DIFY_MAX_CONCURRENT_CALLS: '2',
        DIFY_BREAKER_FAILURE_PERCENT: '50',
        DIFY_BREAKER_WINDOW_MS: '10000',
        DIFY_BREAKER_MIN_CALLS: '4',
        DIFY_BREAKER_OPEN_MS: '500',
      },
    });
    for (const app of ['default', 'brk', 'wf']) keys[app] = (await gw.createKey(['chat', 'workflow', 'app:read'], `chaos2-${app}`, app)).key;
    keys.other = (await gw.createKey(['chat'], 'chaos2-other', 'default')).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  beforeEach(() => gw.sim.reset());

  it('opens the breaker on the failure ratio, answers 503 at once, half-opens with one probe, closes or reopens', async () => {
    const transitions = async (state: string) => sample(await metrics(), 'dify_gateway_dify_breaker_transitions_total', { app: 'brk', state }) ?? 0;
    gw.sim.addFault({ match: { path: '/info' }, kind: 'status', status: 500, times: 4 });
    for (let i = 0; i < 4; i++) expect((await call(gw.baseUrl, '/info', { key: keys.brk })).status).toBe(502);
    expect(upstream('/info')).toBe(4);
    expect(await transitions('open')).toBe(1);

    // Open: refused at once, with Retry-After, and Dify sees nothing.
    const refused = await call(gw.baseUrl, '/info', { key: keys.brk });
    expect(refused.status).toBe(503);
    expect(refused.json?.code).toBe('dify_unavailable');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.ms).toBeLessThan(100);
    expect(upstream('/info')).toBe(4);
    expect(sample(await metrics(), 'dify_gateway_dify_breaker_state', { app: 'brk', state: 'open' })).toBe(1);
    expect(sample(await metrics(), 'dify_gateway_dify_breaker_state', { app: 'brk', state: 'closed' })).toBe(0);
    expect(sample(await metrics(), 'dify_gateway_rejected_requests_total', { app: 'brk', reason: 'breaker_open' })).toBe(1);
    // Other apps are not affected.
    expect((await call(gw.baseUrl, '/info', { key: keys.default })).status).toBe(200);

    // Half-open: one slow probe goes through; a call meanwhile is refused, not queued.
    await sleep(550);
    gw.sim.addFault({ match: { path: '/info' }, kind: 'latency', delayMs: 300 });
    const probe = call(gw.baseUrl, '/info', { key: keys.brk });
    await sleep(100);
    const during = await call(gw.baseUrl, '/info', { key: keys.brk });
    expect(during.status).toBe(503);
    expect(during.headers['retry-after']).toBe('1');
    expect((await probe).status).toBe(200);
    expect(await transitions('half_open')).toBe(1);
    expect(await transitions('closed')).toBe(1);
    expect(sample(await metrics(), 'dify_gateway_dify_breaker_state', { app: 'brk', state: 'closed' })).toBe(1);
    expect(sample(await metrics(), 'dify_gateway_dify_breaker_state', { app: 'brk', state: 'open' })).toBe(0);

    // Open again; a failed probe reopens it.
    gw.sim.addFault({ match: { path: '/info' }, kind: 'status', status: 502, times: 5 });
    for (let i = 0; i < 4; i++) await call(gw.baseUrl, '/info', { key: keys.brk });
    expect(await transitions('open')).toBe(2);
    await sleep(550);
    expect((await call(gw.baseUrl, '/info', { key: keys.brk })).status).toBe(502); // the probe, failing
    expect(await transitions('open')).toBe(3);
    expect((await call(gw.baseUrl, '/info', { key: keys.brk })).status).toBe(503);
    record([
      'breaker: 4×500 then 1 call, probe ok, 4×502, probe fails',
      'status 500 ×4, latency, status 502 ×5',
      String(upstream('/info')),
      'open → 503 dify_unavailable at once; half-open 1 probe; closed; open; reopen',
      '≥1',
      '',
    ]);
  });

  it('refuses calls beyond the per-app bulkhead at once with 429 and Retry-After', async () => {
    gw.sim.addFault({ match: { path: '/parameters' }, kind: 'latency', delayMs: 1_500, times: 2 });
    const slow = [call(gw.baseUrl, '/parameters', { key: keys.default }), call(gw.baseUrl, '/parameters', { key: keys.default })];
    // Both in flight before the third is sent: waited for, not guessed (a fixed 150 ms lost the race on a loaded machine).
    await eventually(async () => sample(await metrics(), 'dify_gateway_dify_inflight_calls', { app: 'default' }) === 2, 'two calls in flight', 1_000);
    expect(sample(await metrics(), 'dify_gateway_dify_inflight_calls', { app: 'default' })).toBe(2);
    const third = await call(gw.baseUrl, '/parameters', { key: keys.default });
    expect(third.status).toBe(429);
    expect(third.json?.code).toBe('too_many_requests');
    expect(third.headers['retry-after']).toBe('1');
    expect(third.ms).toBeLessThan(100);
    expect((await Promise.all(slow)).map((a) => a.status)).toEqual([200, 200]);
    expect(upstream('/parameters')).toBe(2);
    expect(sample(await metrics(), 'dify_gateway_rejected_requests_total', { app: 'default', reason: 'bulkhead_full' })).toBe(1);
    expect(sample(await metrics(), 'dify_gateway_rate_limited_total', { app: 'default', source: 'gateway' })).toBe(1);
    expect(sample(await metrics(), 'dify_gateway_dify_inflight_calls', { app: 'default' })).toBe(0);
    record([
      'bulkhead: 3 calls at once, cap 2',
      'latency 1,500 ms ×2',
      String(upstream('/parameters')),
      '200, 200, 429 too_many_requests (at once)',
      '1',
      String(third.ms),
    ]);
  });

  it('refuses a second call with the same Idempotency-Key while the first runs, and after it, naming it', async () => {
    const body = { inputs: {}, query: 'Pay the invoice', user: 'idem-user', response_mode: 'blocking' };
    const headers = { 'idempotency-key': 'order-42' };
    gw.sim.addFault({ match: { path: '/chat-messages' }, kind: 'latency', delayMs: 400 });
    const first = call(gw.baseUrl, '/chat-messages', { key: keys.default, body, headers });
    await sleep(100);
    const during = await call(gw.baseUrl, '/chat-messages', { key: keys.default, body, headers });
    expect(during.status).toBe(409);
    expect(during.json?.code).toBe('idempotency_key_in_flight');
    const done = await first;
    expect(done.status).toBe(200);
    const after = await call(gw.baseUrl, '/chat-messages', { key: keys.default, body, headers });
    expect(after.status).toBe(409);
    expect(after.json?.code).toBe('idempotency_key_reused');
    expect(after.json?.message).toContain(done.headers['x-request-id']);
    expect(upstream('/chat-messages', 'POST')).toBe(1);
    // Keys are per caller: another team's identical key is its own.
    expect((await call(gw.baseUrl, '/chat-messages', { key: keys.other, body, headers })).status).toBe(200);
    expect(upstream('/chat-messages', 'POST')).toBe(2);
    record([
      'Idempotency-Key: same key during, after; other caller',
      'latency 400 ms',
      String(upstream('/chat-messages', 'POST')),
      '200; 409 idempotency_key_in_flight; 409 idempotency_key_reused (names the first request id); other caller 200',
      '',
      '',
    ]);
  });

  it('frees an Idempotency-Key when the call provably did not run, and refuses a malformed one', async () => {
    const body = { inputs: {}, query: 'Hi', user: 'idem-user', response_mode: 'blocking' };
    const headers = { 'idempotency-key': 'retry-me' };
    gw.sim.addFault({ match: { path: '/chat-messages' }, kind: 'status', status: 503 });
    expect((await call(gw.baseUrl, '/chat-messages', { key: keys.default, body, headers })).status).toBe(502);
    expect((await call(gw.baseUrl, '/chat-messages', { key: keys.default, body, headers })).status).toBe(200);
    gw.sim.addFault({ match: { path: '/chat-messages' }, kind: 'reset', resetBeforeBody: false });
    const unknown = await call(gw.baseUrl, '/chat-messages', { key: keys.default, body, headers: { 'idempotency-key': 'maybe-ran' } });
    expect(unknown.json?.code).toBe('dify_outcome_unknown');
    expect((await call(gw.baseUrl, '/chat-messages', { key: keys.default, body, headers: { 'idempotency-key': 'maybe-ran' } })).json?.code).toBe(
      'idempotency_key_reused',
    );
    const bad = await call(gw.baseUrl, '/chat-messages', { key: keys.default, body, headers: { 'idempotency-key': 'x'.repeat(256) } });
    expect(bad.status).toBe(400);
    expect(upstream('/chat-messages', 'POST')).toBe(3);
  });

  it.each([
    [
      'chat',
      'default',
      '/chat-messages',
      { inputs: {}, query: 'Tell me a long story', user: 'stop-user', response_mode: 'streaming' },
      (id: string) => `/chat-messages/${id}/stop`,
    ],
    ['workflow', 'wf', '/workflows/run', { inputs: {}, user: 'stop-user', response_mode: 'streaming' }, (id: string) => `/workflows/tasks/${id}/stop`],
  ] as const)('stops the Dify task of a %s stream whose caller went away, with the same user', async (_kind, app, path, body, stopPath) => {
    const controller = new AbortController();
    const res = await fetch(`${gw.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[app]}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let text = '';
    while (!/"task_id":\s*"([^"]+)"/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const taskId = /"task_id":\s*"([^"]+)"/.exec(text)![1];
    controller.abort();
    for (let i = 0; i < 50 && upstream(stopPath(taskId), 'POST') === 0; i++) await sleep(20);
    const stop = gw.sim.requests.find((r) => r.path === `/v1${stopPath(taskId)}`);
    expect(stop?.method).toBe('POST');
    // The stop carries the user exactly as the stream's request reached Dify: the team's namespace included.
    const started = gw.sim.requests.find((r) => r.path === `/v1${path}` && r.method === 'POST');
    expect(started?.user).toMatch(/^[0-9a-f]+:stop-user$/);
    expect(stop?.user).toBe(started?.user);
    expect(upstream(path, 'POST')).toBe(1);
    await sleep(100);
    expect(sample(await metrics(), 'dify_gateway_dify_stream_stops_total', { app, result: 'sent' })).toBeGreaterThanOrEqual(1);
    record([`caller leaves a ${_kind} stream`, '—', `1 + stop ${stopPath(':task_id')}`, 'upstream aborted; stop sent with the same user', '', '']);
  });
});
