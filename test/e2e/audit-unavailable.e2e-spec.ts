import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { PrismaService } from '../../src/database/prisma.service.js';
import { auditGet, chatBody, postV1, startAuditGateway, waitFor, type AuditEvent } from '../support/audit-gateway.js';
import { DATABASE_KINDS, DATABASE_SETUP_TIMEOUT_MS, testAdminUrl } from '../support/database.js';
import type { TestGateway } from '../support/test-gateway.js';

/** Requests that reached the simulator's chat endpoint (readiness probes of /info also reach it). */
const chats = (gw: TestGateway) => gw.sim.requests.filter((r) => r.path === '/v1/chat-messages').length;

/** Fail closed: no audit record, no call to Dify; the gateway heals by itself when the store does. */
describe.each(DATABASE_KINDS)('audit store unavailable (%s)', (kind) => {
  let gw: TestGateway;
  let team: string;
  let auditor: string;
  const sql = (query: string) => gw.app.get(PrismaService).client.$executeRawUnsafe(query);

  beforeAll(async () => {
    gw = await startAuditGateway({ db: kind });
    team = (await gw.createKey(['chat'], 'team-a')).key;
    auditor = (await gw.createKey(['audit:read'], 'compliance')).key;
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await gw?.close();
  });

  it('refuses calls with 503 audit_unavailable when the log refuses writes, fails /ready, and recovers by itself', async () => {
    expect((await postV1(gw, team, '/chat-messages', chatBody(), 'before-outage')).status).toBe(200);
    await sql(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$`);
    // Both audit tables: the inbox (the write-ahead) and the chain (sealing).
    for (const table of ['audit_pending', 'audit_events'])
      await sql(`CREATE TRIGGER refuse_audit BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION refuse_audit()`);
    const sent = chats(gw);

    const refused = await postV1(gw, team, '/chat-messages', chatBody(), 'during-outage-1');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.body).toEqual({
      code: 'audit_unavailable',
      message: expect.stringMatching(/no request was sent to Dify/),
      status: 503,
      request_id: 'during-outage-1',
    });
    const stream = await postV1(gw, team, '/chat-messages', chatBody({ response_mode: 'streaming' }), 'during-outage-2');
    expect(stream.status).toBe(503);
    expect(stream.headers['content-type']).toMatch(/application\/json/);
    expect(chats(gw)).toBe(sent);

    const ready = await request(gw.origin).get('/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.details.audit_store).toMatchObject({ status: 'down', reason: 'not_writable' });
    expect((await request(gw.origin).get('/live')).status).toBe(200);
    // Auditors cannot read an audit log that cannot record their reading.
    expect((await auditGet(gw, auditor, '/audit/events')).body).toMatchObject({ code: 'audit_unavailable', status: 503 });

    for (const table of ['audit_pending', 'audit_events']) await sql(`DROP TRIGGER refuse_audit ON ${table}`);
    await sql('DROP FUNCTION refuse_audit');
    await waitFor(async () => (await request(gw.origin).get('/ready')).status === 200, 10_000, '/ready to recover');
    expect((await postV1(gw, team, '/chat-messages', chatBody(), 'after-outage')).status).toBe(200);
    expect(chats(gw)).toBe(sent + 1);

    // The refused calls were kept and recorded once the store was back, as never forwarded.
    for (const id of ['during-outage-1', 'during-outage-2']) {
      const events = await waitFor(
        async () => {
          const data = (await auditGet(gw, auditor, `/audit/events?request_id=${id}`)).body.data as AuditEvent[];
          return data?.length ? data : undefined;
        },
        10_000,
        `the outcome of ${id}`,
      );
      expect(events.map((e) => e.type)).toEqual(['call.finished']);
      expect(events[0]).toMatchObject({ outcome: 'rejected', status: 503, error_code: 'audit_unavailable' });
    }
    const verify = await auditGet(gw, auditor, '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, problem: null });
  });

  if (kind === 'postgres') {
    it('refuses calls while the database refuses connections, and recovers when it accepts them again', async () => {
      const name = new URL(gw.db.url!).pathname.slice(1);
      const admin = new pg.Client({ connectionString: await testAdminUrl() });
      await admin.connect();
      try {
        await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        const sent = chats(gw);
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await postV1(gw, team, '/chat-messages', chatBody(), `db-down-${i}`)).status);
        expect(statuses).toEqual([503, 503, 503]);
        expect(chats(gw)).toBe(sent);
        expect((await request(gw.origin).get('/ready')).status).toBe(503);
      } finally {
        await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
        await admin.end();
      }
      await waitFor(async () => (await request(gw.origin).get('/ready')).status === 200, 15_000, '/ready to recover');
      expect((await postV1(gw, team, '/chat-messages', chatBody(), 'db-back')).status).toBe(200);
      expect((await auditGet(gw, auditor, '/audit/verify')).body).toMatchObject({ ok: true });
    });
  }
});
