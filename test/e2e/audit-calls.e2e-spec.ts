import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { AuditReadRepository } from '../../src/audit/read/audit-read.repository.js';
import { parseSseFrames } from '../../simulator/sse-reader.js';
import { auditGet, chatBody, postV1, startAuditGateway, waitFor, type AuditEvent } from '../support/audit-gateway.js';
import { DATABASE_SETUP_TIMEOUT_MS } from '../support/database.js';
import type { TestGateway } from '../support/test-gateway.js';

/** The JSON data of every event of an SSE body. */
function sseData(text: string): Record<string, any>[] {
  return parseSseFrames(`${text}\n\n`).events.flatMap((e) => (e.data ? [e.data] : []));
}

/** Every event of the request, oldest first, once its call has an outcome (or `count` events exist) and the sequencer sealed them. */
async function callEvents(gw: TestGateway, auditor: string, requestId: string, count = 2): Promise<AuditEvent[]> {
  return waitFor(
    async () => {
      const res = await auditGet(gw, auditor, `/audit/events?request_id=${encodeURIComponent(requestId)}&limit=200`);
      expect(res.status).toBe(200);
      const events = (res.body.data as AuditEvent[]).sort((a, b) => a.seq - b.seq);
      return events.length >= count && events.some((e) => e.type === 'call.finished') && events.every((e) => e.sealed) ? events : undefined;
    },
    10_000,
    `events of ${requestId}`,
  );
}

describe('audit of /v1 calls (embedded database)', () => {
  let gw: TestGateway;
  let team: string;
  let flowTeam: string;
  let auditor: string;

  beforeAll(async () => {
    gw = await startAuditGateway();
    team = (await gw.createKey(['chat', 'conversations'], 'team-a')).key;
    flowTeam = (await gw.createKey(['workflow'], 'team-flow', 'flow')).key;
    auditor = (await gw.createKey(['audit:read'], 'compliance')).key;
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await gw?.close();
  });

  it('commits call.started before the request reaches Dify, and call.finished with the outcome after', async () => {
    gw.sim.addFault({ kind: 'latency', delayMs: 600, match: { path: '/chat-messages' } });
    const pending = postV1(gw, team, '/chat-messages', chatBody({ user: 'wa-user' }), 'wa-1').then((r) => r);
    // While Dify holds the request, the log already has the call, still open.
    const started = await waitFor(() => gw.sim.requests.find((r) => r.headers['x-request-id'] === 'wa-1'), 5000, 'the request at Dify');
    // Recorded (durable in the inbox) before Dify saw it; sealed into the chain then or a little later.
    const read = gw.app.get(AuditReadRepository);
    const unsealed = await read.searchPending({ requestId: 'wa-1' }, { limit: 10 });
    const during = [...(await read.search({ requestId: 'wa-1' }, { limit: 10 })), ...unsealed].filter((e, i, all) => all.findIndex((x) => x.id === e.id) === i);
    expect(during.map((e) => e.type)).toEqual(['call.started']);
    expect(during[0].receivedAt!.getTime()).toBeLessThanOrEqual(started.receivedAt);
    expect((await pending).status).toBe(200);

    const [start, finish] = await callEvents(gw, auditor, 'wa-1');
    expect(start).toMatchObject({
      type: 'call.started',
      route: '/chat-messages',
      method: 'POST',
      end_user: 'wa-user',
      caller_name: 'team-a',
      app: 'default',
      outcome: null,
    });
    expect(finish).toMatchObject({
      type: 'call.finished',
      call_id: start.call_id,
      status: 200,
      upstream_status: 200,
      outcome: 'success',
      attempts: 1,
      end_user: 'wa-user',
    });
    expect(finish.seq).toBeGreaterThan(start.seq);
    expect(finish.latency_ms).toBeGreaterThanOrEqual(500);
  });

  it('records the usage Dify reports in a blocking answer', async () => {
    const res = await postV1(gw, team, '/chat-messages', chatBody({ query: 'What is the weather like today' }), 'usage-blocking');
    expect(res.status).toBe(200);
    const usage = res.body.metadata.usage;
    const [, finish] = await callEvents(gw, auditor, 'usage-blocking');
    expect(finish).toMatchObject({
      total_tokens: usage.total_tokens,
      total_price: usage.total_price,
      currency: usage.currency,
      conversation_id: res.body.conversation_id,
      message_id: res.body.message_id,
      task_id: res.body.task_id,
    });
  });

  it('reads usage from a chat stream on the fly (message_end)', async () => {
    const res = await postV1(gw, team, '/chat-messages', chatBody({ response_mode: 'streaming', user: 'streamer' }), 'usage-stream');
    expect(res.status).toBe(200);
    const events = sseData(res.text);
    const end = events.find((e) => e.event === 'message_end') as { metadata: { usage: { total_tokens: number; total_price: string } }; message_id: string };
    const [, finish] = await callEvents(gw, auditor, 'usage-stream');
    expect(finish).toMatchObject({
      outcome: 'success',
      total_tokens: end.metadata.usage.total_tokens,
      total_price: end.metadata.usage.total_price,
      currency: 'USD',
      message_id: end.message_id,
    });
  });

  it('reads tokens from workflow_finished and the price from the node events of a workflow stream', async () => {
    const res = await postV1(gw, flowTeam, '/workflows/run', { inputs: { text: 'hello' }, user: 'flow-user', response_mode: 'streaming' }, 'usage-workflow');
    expect(res.status).toBe(200);
    const events = sseData(res.text);
    const finished = events.find((e) => e.event === 'workflow_finished')!;
    const prices = events
      .filter((e) => e.event === 'node_finished' && e.data.execution_metadata?.total_price)
      .map((e) => Number(e.data.execution_metadata.total_price));
    expect(prices.length).toBeGreaterThan(0);
    const [start, finish] = await callEvents(gw, auditor, 'usage-workflow');
    expect(start).toMatchObject({ app: 'flow', route: '/workflows/run', end_user: 'flow-user' });
    expect(finish).toMatchObject({ total_tokens: finished.data.total_tokens, workflow_run_id: finished.workflow_run_id, currency: 'USD' });
    expect(finish.total_price).toMatch(/^\d+\.\d+$/);
    expect(Number(finish.total_price)).toBeCloseTo(
      prices.reduce((a, b) => a + b, 0),
      9,
    );
  });

  it('records the end user of a GET from its query string, and the conversation a call continues', async () => {
    const first = await postV1(gw, team, '/chat-messages', chatBody({ user: 'carol' }), 'conv-1');
    const conversation = first.body.conversation_id as string;
    await postV1(gw, team, '/chat-messages', chatBody({ user: 'carol', conversation_id: conversation }), 'conv-2');
    const [start] = await callEvents(gw, auditor, 'conv-2');
    expect(start.conversation_id).toBe(conversation);
    const list = await request(gw.origin)
      .get(`/v1/messages?user=carol&conversation_id=${conversation}`)
      .set('authorization', `Bearer ${team}`)
      .set('x-request-id', 'get-1');
    expect(list.status).toBe(200);
    const [getStart, getFinish] = await callEvents(gw, auditor, 'get-1');
    expect(getStart).toMatchObject({ method: 'GET', route: '/messages', end_user: 'carol', conversation_id: conversation });
    expect(getFinish.outcome).toBe('success');
  });

  it('records refused calls with their outcome only: they never reach Dify', async () => {
    const before = gw.sim.requests.length;
    await request(gw.origin).post('/v1/chat-messages').set('x-request-id', 'refused-401').send(chatBody());
    await postV1(gw, flowTeam, '/chat-messages', chatBody(), 'refused-403');
    await postV1(gw, team, '/chat-messages', { query: 'no user', inputs: {} }, 'refused-400');
    expect(gw.sim.requests.length).toBe(before);
    for (const [id, status, caller] of [
      ['refused-401', 401, null],
      ['refused-403', 403, 'team-flow'],
      ['refused-400', 400, 'team-a'],
    ] as const) {
      const events = await callEvents(gw, auditor, id, 1);
      expect(events.map((e) => e.type)).toEqual(['call.finished']);
      expect(events[0]).toMatchObject({ outcome: 'rejected', status, upstream_status: null, caller_name: caller });
    }
  });

  it('records a path that matches no route as the refusal of the valid key that sent it, answered at once', async () => {
    // Beyond its burst (5), a refusal without a valid key waits a second (the refusal budget):
    // twelve 404s in a row would take 7 s if the key's own refusals were held back as well.
    const startedAt = Date.now();
    for (let i = 0; i < 12; i++) {
      const res = await request(gw.origin)
        .get(`/v1/conversations/not-a-uuid-${i}/variables?user=u`)
        .set({ Authorization: `Bearer ${team}`, 'x-request-id': `unmatched-${i}` });
      expect(res.status).toBe(404);
    }
    expect(Date.now() - startedAt).toBeLessThan(4000);
    const [event] = await callEvents(gw, auditor, 'unmatched-11', 1);
    expect(event).toMatchObject({ type: 'call.finished', outcome: 'rejected', status: 404, error_code: 'not_found', caller_name: 'team-a' });
  });

  it("records what Dify refused, and Dify failures, with Dify's status", async () => {
    gw.sim.addFault({ kind: 'status', status: 400, code: 'invalid_param', match: { path: '/chat-messages' } });
    await postV1(gw, team, '/chat-messages', chatBody(), 'dify-400');
    const [, rejected] = await callEvents(gw, auditor, 'dify-400');
    expect(rejected).toMatchObject({ outcome: 'client_error', status: 400, upstream_status: 400, error_code: 'invalid_param' });
    gw.sim.addFault({ kind: 'status', status: 500, times: 5, match: { path: '/chat-messages' } });
    await postV1(gw, team, '/chat-messages', chatBody(), 'dify-500');
    const [, failed] = await callEvents(gw, auditor, 'dify-500');
    // A generation POST that Dify failed with 500 may have run: not repeated, outcome unknown (README, Errors).
    expect(failed).toMatchObject({ outcome: 'upstream_error', status: 502, error_code: 'dify_outcome_unknown', attempts: 1 });
    gw.sim.clearFaults();
  });

  it('does not store prompt or answer text by default', async () => {
    await postV1(gw, team, '/chat-messages', chatBody({ query: 'my secret plan' }), 'no-text');
    const events = await callEvents(gw, auditor, 'no-text');
    for (const e of events) expect([e.prompt_text, e.answer_text]).toEqual([null, null]);
    const exported = await auditGet(gw, auditor, '/audit/export?format=ndjson');
    expect(exported.text).not.toContain('my secret plan');
  });

  it('keys with audit:read cannot call /v1, and /v1 keys cannot read the audit log', async () => {
    const call = await postV1(gw, auditor, '/chat-messages', chatBody(), 'auditor-calls');
    expect(call.status).toBe(403);
    expect(call.body).toMatchObject({ code: 'forbidden', status: 403 });
    const read = await auditGet(gw, team, '/audit/events');
    expect(read.status).toBe(403);
    expect((await request(gw.origin).get('/audit/events')).status).toBe(401);
    const both = (await gw.createKey(['chat', 'audit:read'], 'both')).key;
    expect((await postV1(gw, both, '/chat-messages', chatBody(), 'both-scopes')).status).toBe(200);
    expect((await auditGet(gw, both, '/audit/events?limit=1')).status).toBe(200);
  });
});

describe('audit of /v1 calls with AUDIT_STORE_TEXT=true', () => {
  let gw: TestGateway;
  let team: string;
  let auditor: string;

  beforeAll(async () => {
    gw = await startAuditGateway({ env: { AUDIT_STORE_TEXT: 'true' }, simulator: { answer: 'Your token is dgw_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn ok' } });
    team = (await gw.createKey(['chat'], 'team-text')).key;
    auditor = (await gw.createKey(['audit:read'], 'compliance')).key;
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await gw?.close();
  });

  it('stores prompt and answer, masked, from blocking and streaming answers', async () => {
    await postV1(gw, team, '/chat-messages', chatBody({ query: 'use key app-ABCDEFGHIJKLMNOP1234 please', inputs: { topic: 'x' } }), 'text-1');
    const [start, finish] = await callEvents(gw, auditor, 'text-1');
    expect(start.prompt_text).toBe('use key *** please\ninputs: {"topic":"x"}');
    expect(finish.answer_text).toBe('Your token is *** ok');
    await postV1(gw, team, '/chat-messages', chatBody({ response_mode: 'streaming', query: 'stream it' }), 'text-2');
    const [, streamed] = await callEvents(gw, auditor, 'text-2');
    expect(streamed.answer_text).toBe('Your token is *** ok');
  });
});
