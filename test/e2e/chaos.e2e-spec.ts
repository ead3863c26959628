/**
 * Chaos suite: the simulator's scripted faults against the real gateway. Each scenario asserts
 * how many attempts the simulator received (a POST that may have run is never received twice),
 * the caller's status and error code, and the audit row's attempts. Set CHAOS_TABLE=<file> to
 * write the observed table (markdown) to a file.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fault } from '../../simulator/dify-simulator.js';
import { call, sseEvents, type Answer } from '../support/call.js';
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
  writeFileSync(file, JSON.stringify({ apps: { wf: { apiKeyEnv: 'WF_DIFY_KEY' }, dead: { apiKeyEnv: 'DEAD_DIFY_KEY', baseUrl: `http://127.0.0.1:${deadPort}/v1` } } }));
  return file;
}

function record(row: string[]): void {
  if (TABLE) appendFileSync(TABLE, `| ${row.join(' | ')} |\n`);
}

interface Scenario {
  name: string;
  /** A function for faults that must be computed when the scenario runs (an HTTP date). */
  faults: Fault[] | (() => Fault[]);
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
const httpDate = (msFromNow: number) => new Date(Date.now() + msFromNow).toUTCString();

const SCENARIOS: Scenario[] = [
  // Reads (idempotent): network errors, 429 too_many_requests, 502, 503, 504 are retried.
  { name: 'GET 503 once', faults: [{ kind: 'status', status: 503 }], method: 'GET', path: '/info', attempts: 2, status: 200 },
  { name: 'GET 502 three times', faults: [{ kind: 'status', status: 502, times: 3 }], method: 'GET', path: '/info', attempts: 3, status: 502, code: 'dify_unavailable' },
  { name: 'GET 504 once', faults: [{ kind: 'status', status: 504 }], method: 'GET', path: '/info', attempts: 2, status: 200 },
  { name: 'GET 500 (not retried)', faults: [{ kind: 'status', status: 500 }], method: 'GET', path: '/info', attempts: 1, status: 502, code: 'dify_unavailable' },
  { name: 'GET reset before answer', faults: [{ kind: 'reset' }], method: 'GET', path: '/info', attempts: 2, status: 200 },
  { name: 'GET HTML 502 page three times', faults: [{ kind: 'html', status: 502, times: 3 }], method: 'GET', path: '/info', attempts: 3, status: 502, code: 'dify_bad_response' },
  { name: 'GET slower than the deadline', faults: [{ kind: 'latency', delayMs: 2500 }], method: 'GET', path: '/info', attempts: 1, status: 504, code: 'dify_timeout' },
  { name: 'GET 429 too_many_requests, Retry-After 1', faults: [{ kind: 'rate-limit', retryAfter: '1' }], method: 'GET', path: '/info', attempts: 2, status: 200, minMs: 950 },
  { name: 'GET 429 rate_limit_error (quota)', faults: [{ kind: 'rate-limit', code: 'rate_limit_error', message: 'Rate Limit Error' }], method: 'GET', path: '/info', attempts: 1, status: 429, code: 'rate_limit_error', retryAfter: '1' },
  { name: 'GET malformed JSON (200)', faults: [{ kind: 'malformed-json' }], method: 'GET', path: '/info', attempts: 1, status: 502, code: 'dify_bad_response' },
  // Generation POSTs (unsafe): only 429 too_many_requests, 503 and "never sent" are retried.
  { name: 'POST chat 503 once', faults: [{ kind: 'status', status: 503 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 2, status: 200 },
  { name: 'POST chat 503 three times', faults: [{ kind: 'status', status: 503, times: 3 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 3, status: 502, code: 'dify_unavailable' },
  { name: 'POST chat 429 too_many_requests (no Retry-After)', faults: [{ kind: 'rate-limit' }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 2, status: 200 },
  { name: 'POST chat 429 Retry-After as HTTP date', faults: () => [{ kind: 'rate-limit', retryAfter: httpDate(1000) }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 2, status: 200, minMs: 300 },
  { name: 'POST chat 429 rate_limit_error (quota)', faults: [{ kind: 'rate-limit', code: 'rate_limit_error', message: 'Rate Limit Error', retryAfter: '20' }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 429, code: 'rate_limit_error', retryAfter: '20' },
  { name: 'POST chat 429 Retry-After 30 (above the cap)', faults: [{ kind: 'rate-limit', retryAfter: '30' }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 429, code: 'too_many_requests', retryAfter: '30' },
  { name: 'POST chat 429 Retry-After 2 (longer than the time left)', faults: [{ kind: 'rate-limit', retryAfter: '2' }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 429, code: 'too_many_requests', retryAfter: '2' },
  { name: 'POST chat 500', faults: [{ kind: 'status', status: 500 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 502, code: 'dify_outcome_unknown' },
  { name: 'POST chat 502', faults: [{ kind: 'status', status: 502 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 502, code: 'dify_outcome_unknown' },
  { name: 'POST chat 504', faults: [{ kind: 'status', status: 504 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 502, code: 'dify_outcome_unknown' },
  { name: 'POST chat HTML 502 page', faults: [{ kind: 'html', status: 502 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 502, code: 'dify_outcome_unknown' },
  { name: 'POST chat HTML 503 page', faults: [{ kind: 'html', status: 503 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 2, status: 200 },
  { name: 'POST chat reset before the body was read', faults: [{ kind: 'reset' }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 502, code: 'dify_outcome_unknown' },
  { name: 'POST chat reset after the body was read', faults: [{ kind: 'reset', resetBeforeBody: false }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 502, code: 'dify_outcome_unknown' },
  { name: 'POST chat slower than the deadline', faults: [{ kind: 'latency', delayMs: 2500 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 504, code: 'dify_outcome_unknown' },
  { name: 'POST chat malformed JSON (200)', faults: [{ kind: 'malformed-json' }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 502, code: 'dify_bad_response' },
  { name: 'POST chat, Dify refuses our key (401)', faults: [{ kind: 'status', status: 401 }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 502, code: 'dify_auth' },
  { name: 'POST chat, Dify 400 invalid_param', faults: [{ kind: 'status', status: 400, code: 'invalid_param', message: 'query is required' }], method: 'POST', path: '/chat-messages', body: chat(), attempts: 1, status: 400, code: 'invalid_param' },
  { name: 'POST chat, connection refused (app on a closed port)', faults: [], app: 'dead', method: 'POST', path: '/chat-messages', body: chat(), attempts: 0, status: 502, code: 'dify_unavailable' },
  { name: 'POST chat stream 503 before it began', faults: [{ kind: 'status', status: 503 }], method: 'POST', path: '/chat-messages', body: chat('streaming'), attempts: 2, status: 200 },
  { name: 'POST chat stream cut mid-way', faults: [{ kind: 'cut-stream', afterEvents: 2 }], method: 'POST', path: '/chat-messages', body: chat('streaming'), attempts: 1, status: 200, eventCode: 'dify_stream_interrupted' },
  { name: 'POST chat stream with an error event', faults: [{ kind: 'stream-error', afterEvents: 2, status: 400, code: 'completion_request_error', message: 'model failed' }], method: 'POST', path: '/chat-messages', body: chat('streaming'), attempts: 1, status: 200, eventCode: 'completion_request_error' },
  { name: 'POST workflow run 503 three times', faults: [{ kind: 'status', status: 503, times: 3 }], app: 'wf', method: 'POST', path: '/workflows/run', body: { inputs: {}, user: 'chaos-user', response_mode: 'blocking' }, attempts: 3, status: 502, code: 'dify_unavailable' },
  { name: 'POST workflow run reset', faults: [{ kind: 'reset' }], app: 'wf', method: 'POST', path: '/workflows/run', body: { inputs: {}, user: 'chaos-user', response_mode: 'blocking' }, attempts: 1, status: 502, code: 'dify_outcome_unknown' },
  { name: 'POST feedback reset', faults: [{ kind: 'reset' }], method: 'POST', path: '/messages/00000000-0000-4000-8000-000000000001/feedbacks', body: { rating: 'like', user: 'chaos-user' }, attempts: 1, status: 502, code: 'dify_outcome_unknown' },
  { name: 'POST stop (idempotent) 502 once', faults: [{ kind: 'status', status: 502 }], method: 'POST', path: '/chat-messages/00000000-0000-4000-8000-000000000002/stop', body: { user: 'chaos-user' }, attempts: 2, status: 200 },
];

describe('chaos: retries never double-spend', () => {
  let gw: TestGateway;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    if (TABLE) writeFileSync(TABLE, '| scenario | faults | attempts seen by Dify | answer | Retry-After | ms |\n|---|---|---|---|---|---|\n');
    gw = await startTestGateway({
      simulator: { apps: [{ key: CANARY_DIFY_KEY, mode: 'chat' }, { key: WORKFLOW_KEY, mode: 'workflow' }] },
      env: {
        DIFY_APPS_FILE: appsFile(await closedPort()),
        WF_DIFY_KEY: WORKFLOW_KEY,
        DEAD_DIFY_KEY: 'app-DEADdeadDEAD0123456789',
        DIFY_FIRST_BYTE_TIMEOUT_MS: '1500',
        DIFY_RETRY_AFTER_MAX_MS: '2000',
        DIFY_BREAKER_FAILURE_PERCENT: '0',
      },
    });
    for (const app of ['default', 'wf', 'dead']) keys[app] = (await gw.createKey(['chat', 'workflow', 'feedback', 'app:read', 'files'], `chaos-${app}`, app)).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  beforeEach(() => gw.sim.reset());

  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const faults = typeof s.faults === 'function' ? s.faults() : s.faults;
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
    record(['GET 503 Retry-After 1, always (deadline 1.5 s)', 'status 503 ×10', String(attempts), `${answer.status} ${answer.json?.code}`, answer.headers['retry-after'] ?? '', String(answer.ms)]);
    expect(attempts).toBe(2); // t=0 and t≈1 s; a third would start after the deadline
    expect(answer.status).toBe(502);
    expect(answer.json?.code).toBe('dify_unavailable');
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.ms).toBeLessThan(1500);
  });

  it('counts attempts in the audit row, also those that never reached Dify', async () => {
    const answer = await call(gw.baseUrl, '/chat-messages', { key: keys.dead, body: chat() });
    expect(answer.status).toBe(502);
    const rows = await gw.app.get((await import('../../src/audit/audit.repository.js')).AuditRepository).search({ limit: 50 });
    const row = rows.find((r) => r.requestId === answer.headers['x-request-id']);
    expect(row).toMatchObject({ attempts: 3, errorCode: 'dify_unavailable', outcome: 'upstream_error' });
  });
});
