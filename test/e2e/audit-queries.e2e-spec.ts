import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { AuditMaintenance } from '../../src/audit/write/audit-maintenance.js';
import { AuditWriter } from '../../src/audit/write/audit-writer.js';
import { EVENT_COLUMNS } from '../../src/audit/read/audit-presenter.js';
import { auditGet, auditSettled, chatBody, postV1, startAuditGateway, waitFor, type AuditEvent } from '../support/audit-gateway.js';
import { DATABASE_KINDS, DATABASE_SETUP_TIMEOUT_MS } from '../support/database.js';
import type { TestGateway } from '../support/test-gateway.js';

/** RFC 4180: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

const ndjson = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);

describe.each(DATABASE_KINDS)('audit queries (%s)', (kind) => {
  let gw: TestGateway;
  let teamA: { id: string; key: string };
  let teamB: { id: string; key: string };
  let auditor: { id: string; key: string };
  /** Every sealed event after seeding, oldest first (from an unfiltered NDJSON export). */
  let all: AuditEvent[];
  let maxSeq: number;
  let windowFrom: string;
  let windowTo: string;

  const get = (path: string) => auditGet(gw, auditor.key, path);

  /** Every page of a list query, newest first, limited to the seeded snapshot (sealed, seq up to maxSeq). */
  async function listAll(query: string, pageSize = 7): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 200; page++) {
      const res = await get(`/audit/events?limit=${pageSize}${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      out.push(...(res.body.data as AuditEvent[]));
      cursor = res.body.next_cursor;
      if (!cursor) break;
    }
    return out.filter((e) => e.sealed && e.seq <= maxSeq);
  }

  const newestFirst = (events: AuditEvent[]) => [...events].sort((a, b) => b.seq - a.seq);

  beforeAll(async () => {
    // No periodic checkpoint of its own (every 60 s by default) between the one a test makes and
    // its reads, however slow a loaded machine makes the suite.
    gw = await startAuditGateway({ db: kind, env: { AUDIT_CHECKPOINT_INTERVAL_MS: '86400000' } });
    teamA = await gw.createKey(['chat', 'conversations'], 'team-a');
    teamB = await gw.createKey(['workflow'], 'team-b', 'flow');
    auditor = await gw.createKey(['audit:read'], 'compliance');

    for (let i = 0; i < 4; i++) await postV1(gw, teamA.key, '/chat-messages', chatBody({ user: i % 2 ? 'bob' : 'alice' }), `a-${i}`);
    // Record time is seal time: what came before a window's edge is sealed before it.
    await auditSettled(gw);
    await new Promise((r) => setTimeout(r, 30));
    windowFrom = new Date().toISOString();
    for (let i = 0; i < 3; i++) await postV1(gw, teamB.key, '/workflows/run', { inputs: { n: String(i) }, user: 'carol', response_mode: 'blocking' }, `b-${i}`);
    gw.sim.addFault({ kind: 'status', status: 400, code: 'invalid_param', match: { path: '/chat-messages' } });
    await postV1(gw, teamA.key, '/chat-messages', chatBody({ user: 'alice' }), 'a-400');
    gw.sim.addFault({ kind: 'status', status: 500, times: 10, match: { path: '/chat-messages' } });
    await postV1(gw, teamA.key, '/chat-messages', chatBody({ user: '=HYPERLINK("x")' }), 'a-500');
    gw.sim.clearFaults();
    await auditSettled(gw);
    await new Promise((r) => setTimeout(r, 30));
    windowTo = new Date().toISOString();
    await postV1(gw, teamA.key, '/workflows/run', { inputs: {}, user: 'alice' }, 'a-403');
    await postV1(gw, teamA.key, '/chat-messages', chatBody({ user: 'dave', response_mode: 'streaming' }), 'a-stream');
    await auditSettled(gw);
    await new Promise((r) => setTimeout(r, 50));
    await auditSettled(gw);

    const res = await get('/audit/export?format=ndjson');
    expect(res.status).toBe(200);
    // The export's own audit.export.started is recorded before the export reads: it is listed
    // last, unsealed (or sealed, when a sealing round came in between).
    const exported = ndjson(res.text);
    const own = exported.at(-1)!;
    expect(own.type).toBe('audit.export.started');
    if (!own.sealed) expect(own).toMatchObject({ seq: null, recorded_at: null, hash: null });
    all = exported.filter((e) => e.sealed);
    maxSeq = all.at(-1)!.seq;
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await gw?.close();
  });

  it('the log holds each call as started and finished events, plus lifecycle events', () => {
    const types = new Set(all.map((e) => e.type));
    for (const t of ['gateway.started', 'call.started', 'call.finished']) expect(types).toContain(t);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => all[0].seq + i));
    const calls = all.filter((e) => e.type === 'call.finished');
    expect(calls.map((e) => e.request_id).sort()).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-400', 'a-403', 'a-500', 'a-stream', 'b-0', 'b-1', 'b-2'].sort());
  });

  it('lists newest first, in pages whose cursor does not skip or repeat anything', async () => {
    const first = await get('/audit/events?limit=5');
    expect(first.body).toMatchObject({ limit: 5, has_more: true, next_cursor: expect.any(String) });
    // The auditor's own reads, recorded and not sealed yet, come first (newest recorded first), then the chain, highest seq first.
    const data = first.body.data as AuditEvent[];
    const unsealed = data.filter((e) => !e.sealed);
    expect(data.slice(0, unsealed.length)).toEqual(unsealed);
    expect(unsealed.every((e) => e.seq === null && e.recorded_at === null && e.hash === null)).toBe(true);
    expect(unsealed.map((e) => e.received_at)).toEqual(
      unsealed
        .map((e) => e.received_at)
        .sort()
        .reverse(),
    );
    const sealedSeqs = data.slice(unsealed.length).map((e) => e.seq);
    expect(sealedSeqs.length).toBeGreaterThan(0);
    expect(sealedSeqs).toEqual([...sealedSeqs].sort((a, b) => b - a));
    expect(Object.keys(first.body.data[0])).toEqual([...EVENT_COLUMNS]);
    expect(await listAll('', 4)).toEqual(newestFirst(all));
    expect((await get('/audit/events')).body.limit).toBe(50);
  });

  it('keeps pages stable while new events are written between them', async () => {
    const seen: AuditEvent[] = [];
    let cursor: string | null = null;
    let writes = 0;
    await auditSettled(gw);
    const top = (await get('/audit/events?limit=1')).body.data.find((e: AuditEvent) => e.sealed).seq as number;
    do {
      const res = await get(`/audit/events?limit=6${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...(res.body.data as AuditEvent[]));
      cursor = res.body.next_cursor;
      // Concurrent writers: calls and the auditor's own query events land while we page.
      await Promise.all([postV1(gw, teamA.key, '/chat-messages', chatBody({ user: 'noise' }), `noise-${writes++}`), get('/audit/events?limit=1')]);
    } while (cursor);
    // An event may show unsealed on one page and sealed on a later one; sealed, each shows once.
    const ids = seen.filter((e) => e.sealed).map((e) => e.seq);
    expect(new Set(ids).size).toBe(ids.length);
    const below = ids.filter((s) => s <= top);
    expect(below).toEqual(Array.from({ length: top - all[0].seq + 1 }, (_, i) => top - i));
  });

  const filters: [string, () => string, (e: AuditEvent) => boolean][] = [
    [
      'from and to (record time)',
      () => `from=${windowFrom}&to=${windowTo}`,
      (e) => (e.recorded_at as string) >= windowFrom && (e.recorded_at as string) < windowTo,
    ],
    ['from alone', () => `from=${windowTo}`, (e) => (e.recorded_at as string) >= windowTo],
    ['caller', () => `caller=${teamB.id}`, (e) => e.caller_key_id === teamB.id],
    ['app', () => 'app=flow', (e) => e.app === 'flow'],
    ['route', () => 'route=/workflows/run', (e) => e.route === '/workflows/run'],
    ['outcome', () => 'outcome=upstream_error', (e) => e.outcome === 'upstream_error'],
    ['status', () => 'status=403', (e) => e.status === 403],
    ['request id', () => 'request_id=b-1', (e) => e.request_id === 'b-1'],
    [
      'conversation id',
      () => `conversation_id=${all.find((e) => e.request_id === 'a-2' && e.conversation_id)!.conversation_id}`,
      (e) => e.conversation_id === all.find((x) => x.request_id === 'a-2' && x.conversation_id)!.conversation_id,
    ],
    [
      'message id',
      () => `message_id=${all.find((e) => e.request_id === 'a-1' && e.message_id)!.message_id}`,
      (e) => e.message_id === all.find((x) => x.request_id === 'a-1' && x.message_id)!.message_id,
    ],
    ['end user', () => 'user=bob', (e) => e.end_user === 'bob'],
    ['event type', () => 'type=call.started', (e) => e.type === 'call.started'],
    ['call id', () => `call_id=${all.find((e) => e.request_id === 'a-3')!.call_id}`, (e) => e.call_id === all.find((x) => x.request_id === 'a-3')!.call_id],
    [
      'several at once',
      () => `caller=${teamA.id}&user=alice&type=call.finished&outcome=success`,
      (e) => e.caller_key_id === teamA.id && e.end_user === 'alice' && e.type === 'call.finished' && e.outcome === 'success',
    ],
  ];

  it.each(filters)('filters by %s', async (_, query, match) => {
    const expected = newestFirst(all.filter(match));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);
    expect(await listAll(query(), 3)).toEqual(expected);
  });

  it('matches nothing for values nobody used, and refuses malformed filters', async () => {
    expect((await get(`/audit/events?caller=${randomUUID()}`)).body.data).toEqual([]);
    expect((await get('/audit/events?from=2999-01-01T00:00:00Z')).body.data).toEqual([]);
    for (const bad of ['caller=nope', 'status=42', 'outcome=great', 'limit=500', 'type=call.done', 'from=yesterday', 'cursor=bm9wZQ', 'colour=red']) {
      const res = await get(`/audit/events?${bad}`);
      expect({ bad, status: res.status, code: res.body.code }).toEqual({ bad, status: 400, code: expect.any(String) });
    }
  });

  it('shows a call with all its events, by event id or by call id', async () => {
    const finished = all.find((e) => e.request_id === 'a-1' && e.type === 'call.finished')!;
    const byEvent = await get(`/audit/events/${finished.id}`);
    expect(byEvent.status).toBe(200);
    expect(byEvent.body.events.map((e: AuditEvent) => e.type)).toEqual(['call.started', 'call.finished']);
    expect(byEvent.body.call).toMatchObject({
      call_id: finished.call_id,
      state: 'finished',
      forwarded: true,
      outcome: 'success',
      end_user: 'bob',
      status: 200,
      total_tokens: finished.total_tokens,
    });
    expect((await get(`/audit/events/${finished.call_id}`)).body).toEqual(byEvent.body);
    const refused = all.find((e) => e.request_id === 'a-403')!;
    expect((await get(`/audit/events/${refused.id}`)).body.call).toMatchObject({ state: 'finished', forwarded: false, outcome: 'rejected', status: 403 });
    const lifecycle = all.find((e) => e.type === 'gateway.started')!;
    expect((await get(`/audit/events/${lifecycle.id}`)).body).toMatchObject({ call: null, events: [{ id: lifecycle.id }] });
    expect((await get(`/audit/events/${randomUUID()}`)).status).toBe(404);
    expect((await get('/audit/events/not-a-uuid')).status).toBe(400);
  });

  it('exports NDJSON and CSV with the same rows, oldest first, filtered like the list', async () => {
    const query = `caller=${teamA.id}&from=${all[0].recorded_at}`;
    const json = await get(`/audit/export?format=ndjson&${query}`);
    expect(json.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(json.headers['content-disposition']).toMatch(/^attachment; filename="audit-.*\.ndjson"$/);
    const rows = ndjson(json.text).filter((e) => e.sealed && e.seq <= maxSeq);
    expect(rows).toEqual(all.filter((e) => e.caller_key_id === teamA.id));
    const csv = await get(`/audit/export?format=csv&${query}`);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...records] = parseCsv(csv.text);
    expect(header).toEqual([...EVENT_COLUMNS]);
    const bySeq = records.filter((r) => r[1] === 'true' && Number(r[0]) <= maxSeq);
    expect(bySeq.map((r) => r[2])).toEqual(rows.map((e) => e.id));
    const one = rows.find((e) => e.type === 'call.finished' && e.total_price)!;
    const record = Object.fromEntries(header.map((h, i) => [h, bySeq.find((r) => r[2] === one.id)![i]]));
    expect(record).toMatchObject({
      seq: String(one.seq),
      total_price: one.total_price,
      details: JSON.stringify(one.details),
      hash: one.hash,
      end_user: one.end_user,
    });
    // A cell a spreadsheet would run as a formula is defused.
    expect(records.some((r) => r[header.indexOf('end_user')] === `'=HYPERLINK("x")`)).toBe(true);
    expect((await get('/audit/export')).status).toBe(400);
    expect((await get('/audit/export?format=xml')).status).toBe(400);
  });

  it('streams exports of any size in keyset batches', async () => {
    const writer = gw.app.get(AuditWriter);
    const marker = `bulk-${kind}`;
    await Promise.all(Array.from({ length: 2300 }, (_, i) => writer.append({ id: randomUUID(), type: 'config.reloaded', requestId: marker, details: { i } })));
    // Recorded, sealed or not: every one is in the export exactly once, whatever the sequencer does meanwhile.
    const early = ndjson((await get(`/audit/export?format=ndjson&request_id=${marker}`)).text);
    expect(new Set(early.map((r) => r.id)).size).toBe(2300);
    expect(early).toHaveLength(2300);
    await auditSettled(gw);
    const res = await get(`/audit/export?format=ndjson&request_id=${marker}`);
    const rows = ndjson(res.text);
    expect(rows).toHaveLength(2300);
    expect(rows.every((r) => r.sealed === true)).toBe(true);
    expect(rows.map((r) => (r.details as { i: number }).i).sort((a, b) => a - b)).toEqual(Array.from({ length: 2300 }, (_, i) => i));
    expect(rows.every((r, i) => i === 0 || r.seq > rows[i - 1].seq)).toBe(true);
  });

  it('counts calls, errors, tokens and cost per caller, app and day', async () => {
    const finished = all.filter((e) => e.type === 'call.finished');
    const day = (finished[0].recorded_at as string).slice(0, 10);
    const res = await get(`/audit/stats?from=${all[0].recorded_at}&to=${new Date(Date.parse(all.at(-1)!.recorded_at as string) + 1).toISOString()}`);
    expect(res.status).toBe(200);
    expect(res.body.group_by).toEqual(['day', 'caller', 'app']);
    const rowA = res.body.data.find((r: Record<string, unknown>) => r.caller_key_id === teamA.id && r.app === 'default');
    const mine = finished.filter((e) => e.caller_key_id === teamA.id && e.app === 'default');
    expect(rowA).toEqual({
      day,
      caller_key_id: teamA.id,
      caller_name: 'team-a',
      app: 'default',
      calls: mine.length,
      errors: mine.filter((e) => e.outcome !== 'success').length,
      total_tokens: mine.reduce((sum, e) => sum + ((e.total_tokens as number) ?? 0), 0),
      cost: { USD: expect.any(String) },
    });
    const cost = mine.reduce((sum, e) => sum + Number(e.total_price ?? 0), 0);
    expect(Number(rowA.cost.USD)).toBeCloseTo(cost, 9);
    const byApp = await get(`/audit/stats?group_by=app&caller=${teamB.id}`);
    expect(byApp.body.data).toEqual([expect.objectContaining({ day: null, caller_key_id: null, caller_name: null, app: 'flow', calls: 3, errors: 0 })]);
    expect((await get('/audit/stats?group_by=week')).status).toBe(400);
  });

  it('pages statistics with limit and next_cursor, and refuses a cursor it did not give for this group_by', async () => {
    const whole = await get('/audit/stats?group_by=caller,app');
    expect(whole.body).toMatchObject({ limit: 1000, has_more: false, next_cursor: null });
    expect(whole.body.data.length).toBeGreaterThan(2);
    const paged: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/audit/stats?group_by=caller,app&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      expect(page.body.has_more).toBe(page.body.next_cursor !== null);
      paged.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor && paged.length <= whole.body.data.length);
    expect(paged).toEqual(whole.body.data);

    const first = await get('/audit/stats?group_by=caller,app&limit=1');
    const otherGrouping = await get(`/audit/stats?group_by=app&cursor=${first.body.next_cursor}`);
    expect(otherGrouping.status).toBe(400);
    expect(otherGrouping.body).toMatchObject({ code: 'invalid_param', status: 400 });
    for (const bad of ['cursor=nope', `cursor=${Buffer.from('{"g":"caller,app","k":[null,"x",null]}').toString('base64url')}`, 'limit=0', 'limit=10001']) {
      const res = await get(`/audit/stats?group_by=caller,app&${bad}`);
      expect({ bad, status: res.status, code: res.body.code }).toEqual({ bad, status: 400, code: expect.any(String) });
    }
  });

  it('verifies the chain', async () => {
    const res = await get('/audit/verify');
    expect(res.body).toMatchObject({ ok: true, signed: true, problem: null, first_seq: 1, started_from: 'genesis' });
    expect(res.body.checked).toBeGreaterThanOrEqual(all.length);
    const ranged = await get(`/audit/verify?from_seq=${all[5].seq}&to_seq=${all[9].seq}`);
    expect(ranged.body).toMatchObject({ ok: true, range: { from_seq: all[5].seq, to_seq: all[9].seq }, last_seq: all[9].seq });
  });

  it('names the newest checkpoint and the key that signed it, whatever the range', async () => {
    const checkpoint = (await gw.app.get(AuditMaintenance).checkpoint())!;
    const expected = {
      seq: checkpoint.seq,
      hash: checkpoint.hash,
      kind: 'periodic',
      created_at: checkpoint.createdAt.toISOString(),
      key_id: checkpoint.keyId,
      signed: true,
    };
    expect(checkpoint.keyId).toEqual(expect.any(String));
    expect((await get('/audit/verify')).body.latest_checkpoint).toEqual(expected);
    expect((await get('/audit/verify?to_seq=2')).body.latest_checkpoint).toEqual(expected);
  });

  it('records every read of the log: who, which endpoint, which filters, how many rows', async () => {
    await new Promise((r) => setTimeout(r, 50));
    await auditSettled(gw);
    const mark = (await get('/audit/events?limit=1')).body.data.find((e: AuditEvent) => e.sealed).seq as number;
    await get('/audit/events?user=bob&limit=3');
    await get(`/audit/events/${all[3].id}`);
    await get('/audit/stats?group_by=day');
    await get('/audit/verify?to_seq=3');
    const exported = await get('/audit/export?format=csv&app=flow');
    await new Promise((r) => setTimeout(r, 50));
    const exportId = exported.headers['x-audit-export-id'];
    const reads = await waitFor(async () => {
      const res = await get(`/audit/export?format=ndjson&caller=${auditor.id}`);
      // Sealed in the order recorded: once the export's end is sealed, every read before it is too.
      const events = ndjson(res.text).filter((e) => e.sealed && e.seq > mark);
      return events.some((e) => e.type === 'audit.export.finished' && e.details?.export_id === exportId) ? events : undefined;
    });
    const byEndpoint = (endpoint: string) =>
      reads.find(
        (e) =>
          e.type === 'audit.query' && e.details?.endpoint === endpoint && (endpoint !== 'events' || (e.details.filters as { user?: string }).user === 'bob'),
      )!;
    expect(byEndpoint('events')).toMatchObject({
      caller_key_id: auditor.id,
      caller_name: 'compliance',
      details: { endpoint: 'events', filters: { user: 'bob', limit: 3 }, rows: 3, has_more: true },
    });
    expect(byEndpoint('event').details).toMatchObject({ id: all[3].id, rows: expect.any(Number) });
    expect(byEndpoint('stats').details).toMatchObject({ filters: { group_by: 'day' } });
    expect(byEndpoint('verify').details).toMatchObject({ filters: { to_seq: 3 }, ok: true, rows: 3 });
    const startedExport = reads.find((e) => e.type === 'audit.export.started' && e.id === exportId)!;
    expect(startedExport.details).toEqual({ format: 'csv', filters: { format: 'csv', app: 'flow' } });
    const finishedExport = reads.find((e) => e.type === 'audit.export.finished' && e.details?.export_id === exportId)!;
    expect(finishedExport.details).toMatchObject({ rows: parseCsv(exported.text).length - 1, complete: true, error: null });
    expect(finishedExport.seq).toBeGreaterThan(startedExport.seq);
    for (const e of reads) expect(e.request_id).toEqual(expect.any(String));
  });

  it("answers only keys with audit:read, in Dify's error shape", async () => {
    const res = await request(gw.origin).get('/audit/stats').set('authorization', `Bearer ${teamA.key}`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'forbidden', status: 403, request_id: expect.any(String) });
  });
});
