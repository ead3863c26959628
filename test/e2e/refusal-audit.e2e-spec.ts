import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { RefusalAuditor } from '../../src/audit/refusal-auditor.js';
import { generateApiKeySecret } from '../../src/auth/api-key.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

type Event = {
  type: string;
  caller_key_id: string | null;
  caller_name: string | null;
  method: string | null;
  route: string | null;
  status: number | null;
  outcome: string | null;
  error_code: string | null;
  request_id: string | null;
  details: Record<string, unknown> | null;
};

describe('refused attempts leave an audit event, at a rate no caller chooses', () => {
  let gw: TestGateway;
  let admin: { id: string; key: string };
  let auditor: { id: string; key: string };

  beforeAll(async () => {
    gw = await startTestGateway({ db: 'postgres' });
    admin = await gw.createKeyWith({ name: 'ops-admin', scopes: ['admin', 'chat'] });
    auditor = await gw.createKey(['audit:read'], 'auditor');
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  async function eventsOf(type: string): Promise<Event[]> {
    const out: Event[] = [];
    let cursor = '';
    for (let page = 0; page < 50; page++) {
      const res = await request(gw.origin).get(`/audit/events?type=${type}&limit=200${cursor}`).set('Authorization', `Bearer ${auditor.key}`);
      expect(res.status).toBe(200);
      out.push(...res.body.data);
      if (!res.body.next_cursor) break;
      cursor = `&cursor=${res.body.next_cursor}`;
    }
    return out;
  }

  async function refusal(requestId: string): Promise<Event> {
    for (let i = 0; i < 100; i++) {
      const found = (await eventsOf('access.refused')).find((e) => e.request_id === requestId);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no access.refused for ${requestId}`);
  }

  it.each([
    ['wrong-scope', () => request(gw.origin).get('/admin/keys').set('Authorization', `Bearer ${auditor.key}`), 403, 'auditor', /lacks the 'admin' scope/],
    [
      'unknown-field',
      () =>
        request(gw.origin)
          .post('/admin/keys')
          .set('Authorization', `Bearer ${admin.key}`)
          .send({ name: 'x', scopes: ['chat'], owner: 'me' }),
      400,
      'ops-admin',
      /property owner should not exist/,
    ],
    [
      'bad-query',
      () => request(gw.origin).get('/audit/events?limit=0').set('Authorization', `Bearer ${auditor.key}`),
      400,
      'auditor',
      /limit must not be less than 1/,
    ],
    ['audit-as-admin', () => request(gw.origin).get('/audit/events').set('Authorization', `Bearer ${admin.key}`), 403, 'ops-admin', /audit:read/],
    ['no-key', () => request(gw.origin).get('/audit/verify'), 401, null, /no_key/],
    [
      'not-json',
      () => request(gw.origin).post('/admin/keys').set('Authorization', `Bearer ${admin.key}`).set('Content-Type', 'text/plain').send('x'),
      415,
      null,
      /unsupported_media_type/,
    ],
  ] as const)('%s', async (id, send, status, callerName, reason) => {
    const res = await send().set('x-request-id', `refused-${id}`);
    expect(res.status).toBe(status);
    const event = await refusal(`refused-${id}`);
    expect(event).toMatchObject({ status, outcome: 'rejected', error_code: res.body.code });
    expect(event.route).toMatch(/^\/(admin|audit)\//);
    expect(event.route).not.toContain('?');
    expect(String(event.details?.reason)).toMatch(reason);
    // The body middleware refuses before the key is checked (helper A moves auth first): no caller then.
    if (id !== 'not-json') expect(event.caller_name).toBe(callerName);
    expect(JSON.stringify(event)).not.toContain(admin.key);
  });

  it('a refusal the admin use case recorded is not recorded twice', async () => {
    await request(gw.origin)
      .post('/admin/keys')
      .set('Authorization', `Bearer ${admin.key}`)
      .set('x-request-id', 'refused-once')
      .send({ name: 'x', scopes: ['nope'] });
    const created = (await eventsOf('key.created')).filter((e) => e.request_id === 'refused-once');
    expect(created).toHaveLength(1);
    expect((await eventsOf('access.refused')).filter((e) => e.request_id === 'refused-once')).toHaveLength(0);
  });

  it('a flood without a valid key writes a bounded number of events, and one aggregate with the counts', async () => {
    const auditor$ = gw.app.get(RefusalAuditor);
    auditor$.flush(); // start a fresh period
    const finishedBefore = (await eventsOf('call.finished')).length;
    const made = () => 'dgw_' + generateApiKeySecret().slice(4, 38) + 'zzzzzz';
    const sends = [];
    for (let i = 0; i < 300; i++) {
      const auth = i % 3 === 0 ? {} : { Authorization: `Bearer ${i % 3 === 1 ? made() : generateApiKeySecret()}` };
      sends.push(request(gw.baseUrl).post('/chat-messages').set(auth).send({ inputs: {}, query: 'hi', user: 'u' }));
      if (sends.length === 100) (await Promise.all(sends.splice(0))).forEach((r) => expect(r.status).toBe(401));
    }
    await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 300));
    const written = (await eventsOf('call.finished')).length - finishedBefore;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThanOrEqual(5);

    auditor$.flush();
    let summary: Event | undefined;
    for (let i = 0; i < 100 && !summary; i++) {
      summary = (await eventsOf('auth.refused')).find((e) => (e.details?.total as number) >= 300);
      if (!summary) await new Promise((r) => setTimeout(r, 50));
    }
    expect(summary).toBeDefined();
    const counts = summary!.details!.counts as { source: string; reason: string; count: number }[];
    const byReason = Object.fromEntries(counts.map((c) => [c.reason, c.count]));
    expect(byReason).toMatchObject({ no_key: 100, bad_checksum: 100, unknown_key: 100 });
    expect(counts.every((c) => /127\.0\.0\.1|::1/.test(c.source))).toBe(true);
    expect(summary!.details!.suppressed).toBe(300 - written);
    expect(JSON.stringify(summary)).not.toMatch(/dgw_[A-Za-z0-9]{10}/);
  });
});
