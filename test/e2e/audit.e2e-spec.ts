/**
 * The audit trail end to end, on both databases: every /v1 call writes one row with the request's
 * metadata and Dify ids (never prompt or answer text), and GET /audit/events filters, pages and
 * rejects bad queries in Dify's error shape.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';
import { DATABASE_KINDS } from '../support/database.js';
import { appsFileEnv } from '../support/apps-file.js';
import { auditRowOf, auditRows, call, databaseText, dataOf, SseClient, type AuditColumns, type CallResult } from '../support/e2e-client.js';

const FLOW_KEY = 'app-FLOWauditKEY0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An event as GET /audit/events returns it. */
interface AuditEvent {
  id: string;
  requestId: string;
  startedAt: string;
  callerKeyId: string | null;
  callerName: string | null;
  appAlias: string | null;
  method: string;
  route: string;
  status: number;
  upstreamStatus: number | null;
  outcome: string;
  errorCode: string | null;
  latencyMs: number;
  attempts: number;
  conversationId: string | null;
  messageId: string | null;
  taskId: string | null;
  workflowRunId: string | null;
}

interface AuditPage {
  data: AuditEvent[];
  limit: number;
  has_more: boolean;
  next_cursor: string | null;
}

describe.each(DATABASE_KINDS)('audit trail (%s)', (kind) => {
  const PROMPT = `PROMPT-TEXT-${randomUUID()}`;
  const ANSWER = `ANSWER-TEXT-${randomUUID()}`;
  const INPUT_VALUE = `INPUT-VALUE-${randomUUID()}`;

  let gw: TestGateway;
  let removeAppsFile: () => void;
  let chat: { id: string; key: string };
  let flow: { id: string; key: string };
  let limited: { id: string; key: string };
  let auditor: { id: string; key: string };

  beforeAll(async () => {
    const apps = appsFileEnv({ flow: { env: 'FLOW_DIFY_KEY', key: FLOW_KEY } });
    removeAppsFile = apps.remove;
    gw = await startTestGateway({
      db: kind,
      simulator: {
        apps: [
          { key: CANARY_DIFY_KEY, mode: 'chat' },
          { key: FLOW_KEY, mode: 'workflow' },
        ],
        answer: `${ANSWER} and more words`,
      },
      env: apps.env,
    });
    chat = await gw.createKey(['chat', 'conversations', 'app:read'], 'team-audit');
    flow = await gw.createKey(['workflow'], 'team-flow', 'flow');
    limited = await gw.createKey(['app:read'], 'team-limited');
    auditor = await gw.createKey(['audit:read'], 'auditor');
  });
  afterAll(async () => {
    await gw?.close();
    removeAppsFile?.();
  });

  /** The row of a call; its request id is the one the gateway echoed in `x-request-id`. */
  async function rowOf(res: CallResult | SseClient): Promise<AuditColumns> {
    const requestId = res.headers['x-request-id'];
    expect(typeof requestId).toBe('string');
    const row = await auditRowOf(gw, requestId as string);
    expect(row.request_id).toBe(requestId);
    expect(row.id).toMatch(UUID);
    expect(Number.isInteger(row.latency_ms)).toBe(true);
    expect(row.latency_ms as number).toBeGreaterThanOrEqual(0);
    return row;
  }

  describe('one row per /v1 call', () => {
    it('success: caller, app, route, status, attempts, and a caller-supplied request id kept', async () => {
      const before = Date.now();
      const res = await call(gw.origin, 'GET', '/v1/info', { key: chat.key, headers: { 'x-request-id': 'audit-e2e.req:001' } });
      const after = Date.now();
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toBe('audit-e2e.req:001');
      const row = await rowOf(res);
      expect(row).toMatchObject({
        request_id: 'audit-e2e.req:001',
        caller_key_id: chat.id,
        caller_name: 'team-audit',
        app_alias: 'default',
        method: 'GET',
        route: '/info',
        status: 200,
        upstream_status: 200,
        outcome: 'success',
        error_code: null,
        attempts: 1,
      });
      const started = new Date(row.started_at as string | Date).getTime();
      expect(started).toBeGreaterThanOrEqual(before - 1);
      expect(started).toBeLessThanOrEqual(after);
    });

    it('replaces an insane caller request id by a fresh one', async () => {
      for (const bad of ['has spaces in it', 'x'.repeat(200), 'semi;colon', 'slash/not/allowed', '']) {
        const res = await call(gw.origin, 'GET', '/v1/info', { key: chat.key, headers: { 'x-request-id': bad } });
        expect(res.status).toBe(200);
        expect(res.headers['x-request-id']).not.toBe(bad);
        expect(res.headers['x-request-id']).toMatch(UUID);
        await rowOf(res);
      }
    });

    it('401 without a key: no caller, outcome rejected', async () => {
      const res = await call(gw.origin, 'GET', '/v1/info');
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ code: 'unauthorized', status: 401, request_id: res.headers['x-request-id'] });
      expect(await rowOf(res)).toMatchObject({
        caller_key_id: null,
        caller_name: null,
        route: '/info',
        method: 'GET',
        status: 401,
        upstream_status: null,
        outcome: 'rejected',
        error_code: 'unauthorized',
        attempts: 0,
      });
    });

    it('403 for a key without the scope: caller recorded, nothing sent upstream', async () => {
      const sent = gw.sim.requests.length;
      const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key: limited.key, body: { inputs: {}, query: PROMPT, user: 'u' } });
      expect(res.status).toBe(403);
      expect(gw.sim.requests.length).toBe(sent);
      expect(await rowOf(res)).toMatchObject({
        caller_key_id: limited.id,
        caller_name: 'team-limited',
        route: '/chat-messages',
        method: 'POST',
        status: 403,
        upstream_status: null,
        outcome: 'rejected',
        error_code: 'forbidden',
      });
    });

    it('404 for an unknown path: route "unmatched"', async () => {
      const res = await call(gw.origin, 'GET', '/v1/no-such-endpoint', { key: chat.key });
      expect(res.status).toBe(404);
      expect(await rowOf(res)).toMatchObject({ route: 'unmatched', method: 'GET', status: 404, outcome: 'rejected', error_code: 'not_found' });
    });

    it('405 for a known path with another method', async () => {
      const res = await call(gw.origin, 'DELETE', '/v1/info', { key: chat.key });
      expect(res.status).toBe(405);
      expect(await rowOf(res)).toMatchObject({ method: 'DELETE', status: 405, outcome: 'rejected' });
    });

    it('400 for a body the gateway rejects: nothing sent upstream', async () => {
      const sent = gw.sim.requests.length;
      const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key: chat.key, body: { inputs: {}, query: PROMPT } });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ code: 'invalid_param', message: 'Arg user must be provided.', status: 400 });
      expect(gw.sim.requests.length).toBe(sent);
      expect(await rowOf(res)).toMatchObject({
        caller_key_id: chat.id,
        route: '/chat-messages',
        status: 400,
        upstream_status: null,
        outcome: 'rejected',
        error_code: 'invalid_param',
        attempts: 0,
      });
    });

    it("a Dify 4xx passes through and is recorded as the caller's error", async () => {
      const res = await call(gw.origin, 'POST', '/v1/chat-messages', {
        key: chat.key,
        body: { inputs: {}, query: PROMPT, user: 'u', conversation_id: randomUUID() },
      });
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ code: 'not_found', message: 'Conversation Not Exists.', status: 404 });
      expect(await rowOf(res)).toMatchObject({ status: 404, upstream_status: 404, outcome: 'client_error', error_code: 'not_found', attempts: 1 });
    });

    it('a Dify 5xx becomes 502 and is recorded as an upstream error', async () => {
      gw.sim.addFault({ kind: 'status', status: 500, match: { path: '/chat-messages' } });
      const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key: chat.key, body: { inputs: {}, query: PROMPT, user: 'u' } });
      expect(res.status).toBe(502);
      expect(await rowOf(res)).toMatchObject({ status: 502, upstream_status: 500, outcome: 'upstream_error', error_code: 'dify_outcome_unknown', attempts: 1 }); // issue 3: a POST that may have run says so
    });

    it('a blocking chat records the conversation, message and task ids', async () => {
      const res = await call(gw.origin, 'POST', '/v1/chat-messages', {
        key: chat.key,
        body: { inputs: { topic: INPUT_VALUE }, query: PROMPT, user: 'audit-user', response_mode: 'blocking' },
      });
      expect(res.status).toBe(200);
      expect(res.json.answer).toContain(ANSWER);
      expect(await rowOf(res)).toMatchObject({
        caller_key_id: chat.id,
        app_alias: 'default',
        route: '/chat-messages',
        status: 200,
        outcome: 'success',
        conversation_id: res.json.conversation_id,
        message_id: res.json.message_id,
        task_id: res.json.task_id,
        workflow_run_id: null,
      });
    });

    it('a streamed chat records its ids, and a stop call its route template', async () => {
      const stream = await SseClient.open(gw.origin, '/v1/chat-messages', {
        key: chat.key,
        body: { inputs: {}, query: PROMPT, user: 'audit-user', response_mode: 'streaming' },
      });
      await stream.rest();
      const [first] = dataOf(stream.events);
      expect(await rowOf(stream)).toMatchObject({
        route: '/chat-messages',
        outcome: 'success',
        conversation_id: first.conversation_id,
        message_id: first.message_id,
        task_id: first.task_id,
      });

      const stop = await call(gw.origin, 'POST', `/v1/chat-messages/${first.task_id as string}/stop`, { key: chat.key, body: { user: 'audit-user' } });
      expect(stop.status).toBe(200);
      expect(await rowOf(stop)).toMatchObject({ route: '/chat-messages/:task_id/stop', method: 'POST', status: 200, outcome: 'success' });
    });

    it('a workflow run records its workflow run id and task id, under its own app alias', async () => {
      const res = await call(gw.origin, 'POST', '/v1/workflows/run', {
        key: flow.key,
        body: { inputs: { topic: INPUT_VALUE }, user: 'audit-user', response_mode: 'blocking' },
      });
      expect(res.status).toBe(200);
      expect(await rowOf(res)).toMatchObject({
        caller_key_id: flow.id,
        caller_name: 'team-flow',
        app_alias: 'flow',
        route: '/workflows/run',
        status: 200,
        outcome: 'success',
        workflow_run_id: res.json.workflow_run_id,
        task_id: res.json.task_id,
      });

      const runId = res.json.workflow_run_id as string;
      const get = await call(gw.origin, 'GET', `/v1/workflows/run/${runId}`, { key: flow.key });
      expect(get.status).toBe(200);
      expect(await rowOf(get)).toMatchObject({ route: '/workflows/run/:workflow_run_id', app_alias: 'flow' });
    });

    it('a burst of concurrent calls writes one row each', async () => {
      const before = (await auditRows(gw)).length;
      const answers = await Promise.all(Array.from({ length: 8 }, () => call(gw.origin, 'GET', '/v1/info', { key: chat.key })));
      for (const res of answers) await rowOf(res);
      const ids = new Set(answers.map((r) => r.headers['x-request-id']));
      expect(ids.size).toBe(8);
      expect((await auditRows(gw)).length).toBe(before + 8);
    });

    it('stores no prompt, answer or input text anywhere in the database', async () => {
      const text = await databaseText(gw);
      expect(text).toContain('audit_records'); // the dump did read the audit table...
      expect(text).toContain('audit-e2e.req:001'); // ... and its rows
      expect(text).not.toContain(PROMPT);
      expect(text).not.toContain(ANSWER);
      expect(text).not.toContain(INPUT_VALUE);
    });
  });

  describe('GET /audit/events', () => {
    let all: AuditColumns[];

    beforeAll(async () => {
      all = await auditRows(gw);
      expect(all.length).toBeGreaterThanOrEqual(20);
    });

    const list = (query: string, key = auditor.key) => call(gw.origin, 'GET', `/audit/events${query}`, { key });
    /** Newest first: (startedAt desc, id desc). */
    const newestFirst = (rows: AuditColumns[]) =>
      [...rows].sort((a, b) => {
        const ta = new Date(a.started_at as Date).getTime();
        const tb = new Date(b.started_at as Date).getTime();
        return tb - ta || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
      });

    async function readAllPages(query: string, limit: number): Promise<{ ids: string[]; pages: AuditPage[] }> {
      const pages: AuditPage[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 100; i++) {
        const sep = query ? '&' : '';
        const res = await list(`?${query}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.status).toBe(200);
        const page = res.json as AuditPage;
        pages.push(page);
        expect(page.limit).toBe(limit);
        expect(page.data.length).toBeLessThanOrEqual(limit);
        if (!page.has_more) {
          expect(page.next_cursor).toBeNull();
          break;
        }
        expect(page.data.length).toBe(limit);
        expect(typeof page.next_cursor).toBe('string');
        cursor = page.next_cursor;
      }
      return { ids: pages.flatMap((p) => p.data.map((e) => e.id)), pages };
    }

    it('needs a key with the audit:read scope', async () => {
      expect((await call(gw.origin, 'GET', '/audit/events')).status).toBe(401);
      const forbidden = await list('', chat.key);
      expect(forbidden.status).toBe(403);
      expect(forbidden.json).toMatchObject({ code: 'forbidden', status: 403 });
    });

    it('lists every row newest first, in the stored shape', async () => {
      const res = await list('?limit=200');
      expect(res.status).toBe(200);
      const page = res.json as AuditPage;
      expect(page.has_more).toBe(false);
      expect(page.next_cursor).toBeNull();
      expect(page.data.map((e) => e.id)).toEqual(newestFirst(all).map((r) => r.id));
      const sample = page.data.find((e) => e.requestId === 'audit-e2e.req:001')!;
      const row = all.find((r) => r.request_id === 'audit-e2e.req:001')!;
      expect(sample).toEqual({
        id: row.id,
        requestId: 'audit-e2e.req:001',
        startedAt: new Date(row.started_at as Date).toISOString(),
        callerKeyId: chat.id,
        callerName: 'team-audit',
        appAlias: 'default',
        method: 'GET',
        route: '/info',
        status: 200,
        upstreamStatus: 200,
        outcome: 'success',
        errorCode: null,
        latencyMs: row.latency_ms,
        attempts: 1,
        conversationId: null,
        messageId: null,
        taskId: null,
        workflowRunId: null,
      });
    });

    it('pages with a cursor: no duplicates, no gaps, has_more and next_cursor', async () => {
      const { ids, pages } = await readAllPages('', 3);
      expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(all.length / 3));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(newestFirst(all).map((r) => r.id));
    });

    it('pages a filtered list as well (page size 1 and 2)', async () => {
      const mine = newestFirst(all.filter((r) => r.caller_key_id === chat.id)).map((r) => r.id);
      expect(mine.length).toBeGreaterThan(4);
      expect((await readAllPages(`caller=${chat.id}`, 2)).ids).toEqual(mine);
      expect((await readAllPages(`caller=${chat.id}`, 1)).ids).toEqual(mine);
    });

    it('filters by caller, app, outcome and status', async () => {
      const cases: Array<[string, (r: AuditColumns) => boolean]> = [
        [`caller=${chat.id}`, (r) => r.caller_key_id === chat.id],
        [`caller=${flow.id}`, (r) => r.caller_key_id === flow.id],
        ['app=flow', (r) => r.app_alias === 'flow'],
        ['app=default', (r) => r.app_alias === 'default'],
        ['outcome=rejected', (r) => r.outcome === 'rejected'],
        ['outcome=upstream_error', (r) => r.outcome === 'upstream_error'],
        ['status=404', (r) => r.status === 404],
        ['status=200&app=flow', (r) => r.status === 200 && r.app_alias === 'flow'],
        [`caller=${randomUUID()}`, () => false],
      ];
      for (const [query, keep] of cases) {
        const res = await list(`?${query}&limit=200`);
        expect(res.status).toBe(200);
        const expected = newestFirst(all.filter(keep)).map((r) => r.id);
        expect({ query, ids: (res.json as AuditPage).data.map((e) => e.id) }).toEqual({ query, ids: expected });
      }
    });

    it('filters by time: from inclusive, to exclusive', async () => {
      const times = [...new Set(all.map((r) => new Date(r.started_at as Date).getTime()))].sort((a, b) => a - b);
      expect(times.length).toBeGreaterThan(4);
      const from = times[1];
      const to = times[times.length - 2];
      const iso = (t: number) => new Date(t).toISOString();
      const inRange = (t: number) => t >= from && t < to;
      const res = await list(`?from=${encodeURIComponent(iso(from))}&to=${encodeURIComponent(iso(to))}&limit=200`);
      expect(res.status).toBe(200);
      const expected = newestFirst(all.filter((r) => inRange(new Date(r.started_at as Date).getTime()))).map((r) => r.id);
      expect(expected.length).toBeGreaterThan(0);
      expect((res.json as AuditPage).data.map((e) => e.id)).toEqual(expected);

      const onlyFrom = await list(`?from=${encodeURIComponent(iso(to))}&limit=200`);
      expect((onlyFrom.json as AuditPage).data.map((e) => e.id)).toEqual(
        newestFirst(all.filter((r) => new Date(r.started_at as Date).getTime() >= to)).map((r) => r.id),
      );
    });

    it('returns one event by id, and 404 in Dify shape for an unknown id', async () => {
      const row = all.find((r) => r.app_alias === 'flow' && r.workflow_run_id)!;
      const res = await call(gw.origin, 'GET', `/audit/events/${row.id}`, { key: auditor.key });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ id: row.id, requestId: row.request_id, workflowRunId: row.workflow_run_id, appAlias: 'flow' });

      const missing = await call(gw.origin, 'GET', `/audit/events/${randomUUID()}`, { key: auditor.key });
      expect(missing.status).toBe(404);
      expect(missing.json).toMatchObject({ code: 'not_found', status: 404, message: expect.any(String) });

      const notAnId = await call(gw.origin, 'GET', '/audit/events/not-a-uuid', { key: auditor.key });
      expect(notAnId.status).toBe(400);
      expect(notAnId.json).toMatchObject({ code: 'invalid_param', status: 400 });

      expect((await call(gw.origin, 'GET', `/audit/events/${row.id}`, { key: chat.key })).status).toBe(403);
    });

    it('rejects bad filters with 400 in Dify shape', async () => {
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const bad = [
        'from=yesterday',
        'to=2026-13-45T00:00:00Z',
        'from=not-a-date&to=2026-01-01T00:00:00Z',
        'caller=not-a-uuid',
        'app=Not%20An%20Alias',
        'outcome=exploded',
        'status=abc',
        'status=99',
        'limit=0',
        'limit=1000',
        'limit=-5',
        'limit=abc',
        'cursor=garbage',
        `cursor=${'x'.repeat(300)}`,
        `cursor=${b64(['not a date', randomUUID()])}`,
        `cursor=${b64(['2026-01-01T00:00:00.000Z', 'not-a-uuid'])}`,
        `cursor=${b64(['2026-01-01T00:00:00.000Z', '-'.repeat(36)])}`,
        `cursor=${b64({ startedAt: '2026-01-01T00:00:00.000Z' })}`,
        'unknown_filter=1',
      ];
      for (const query of bad) {
        const res = await list(`?${query}`);
        expect({ query, status: res.status }).toEqual({ query, status: 400 });
        expect(res.json).toMatchObject({ code: 'invalid_param', status: 400, message: expect.any(String), request_id: res.headers['x-request-id'] });
      }
    });
  });
});
