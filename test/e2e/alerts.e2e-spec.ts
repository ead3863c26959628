import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { AlertOccurrenceRepository } from '../../src/alerts/alert-occurrence.repository.js';
import { waitFor } from '../support/audit-gateway.js';
import { startHttpReceiver } from '../support/siem-receivers.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const ALERT_KEY = 'alert-hmac-key-CANARY-0123456789';
const SINK_KEY = 'sink-hmac-key-0123456789abcdef';

type AlertBody = { id: string; kind: string; severity: string; subject: string; details: Record<string, unknown> };

describe('alerts: each occurrence once, signed, audited and counted (postgres)', () => {
  let gw: TestGateway;
  let alerts: Awaited<ReturnType<typeof startHttpReceiver>>;
  let siem: Awaited<ReturnType<typeof startHttpReceiver>>;
  let auditor: string;
  const received = (kind?: string) => alerts.bodies.map((b) => JSON.parse(b) as AlertBody).filter((a) => !kind || a.kind === kind);

  beforeAll(async () => {
    alerts = await startHttpReceiver(ALERT_KEY);
    siem = await startHttpReceiver(SINK_KEY);
    siem.status = 503; // the SIEM is down from the start: the sink falls behind
    gw = await startTestGateway({
      db: 'postgres',
      env: {
        ALERT_WEBHOOK_URL: `http://127.0.0.1:${alerts.port}/hook`,
        ALERT_HMAC_KEY: ALERT_KEY,
        ALERT_CHECK_INTERVAL_MS: '200',
        ALERT_SINK_LAG_EVENTS: '10', // the key, call and alert events before the SIEM comes back are well over 10; the few after it are not (3 made a second lag under load)
        AUDIT_SINKS: JSON.stringify([{ name: 'siem', type: 'webhook', url: `http://127.0.0.1:${siem.port}/in`, interval_ms: 100, backoff_max_ms: 200 }]),
        AUDIT_SINK_SIEM_HMAC_KEY: SINK_KEY,
        DIFY_MAX_RETRIES: '0',
        DIFY_BREAKER_FAILURE_PERCENT: '50',
        DIFY_BREAKER_WINDOW_MS: '10000',
        DIFY_BREAKER_MIN_CALLS: '4',
        DIFY_BREAKER_OPEN_MS: '300',
      },
    });
    auditor = (await gw.createKey(['audit:read'], 'compliance')).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    await Promise.all([alerts?.close(), siem?.close()]);
  });

  const chat = (key: string) =>
    request(gw.app.getHttpServer())
      .post('/v1/chat-messages')
      .set('authorization', `Bearer ${key}`)
      .send({ inputs: {}, query: 'hi', user: 'u', response_mode: 'blocking' });

  it('budget at 80 % and 100 %, once per key and day', async () => {
    const probe = await gw.createKey(['chat'], 'probe');
    const tokens = (await chat(probe.key)).body.metadata.usage.total_tokens as number;
    const { id, key } = await gw.createKeyWith({ name: 'budgeted', scopes: ['chat'], limits: { dailyTokens: Math.ceil(tokens * 1.2) } });
    expect((await chat(key)).status).toBe(200);
    await waitFor(() => received('budget.80').length === 1, 5_000, 'budget.80');
    expect((await chat(key)).status).toBe(200);
    await waitFor(() => received('budget.100').length === 1, 5_000, 'budget.100');
    expect((await chat(key)).status).toBe(429);
    await new Promise((r) => setTimeout(r, 300));
    expect(
      received()
        .filter((a) => a.subject === id)
        .map((a) => a.kind),
    ).toEqual(['budget.80', 'budget.100']);
  });

  it('a breaker opening and closing', async () => {
    const { key } = await gw.createKey(['app:read'], 'breaker');
    gw.sim.addFault({ match: { path: '/info' }, kind: 'status', status: 500, times: 4 });
    for (let i = 0; i < 4; i++) await request(gw.app.getHttpServer()).get('/v1/info').set('authorization', `Bearer ${key}`);
    await waitFor(() => received('breaker.open').length === 1, 5_000, 'breaker.open');
    await new Promise((r) => setTimeout(r, 350));
    expect((await request(gw.app.getHttpServer()).get('/v1/info').set('authorization', `Bearer ${key}`)).status).toBe(200);
    await waitFor(() => received('breaker.closed').length === 1, 5_000, 'breaker.closed');
    expect(received('breaker.open')[0]).toMatchObject({ severity: 'critical', subject: 'default' });
  });

  it('a key expiring within 7 days, a sink falling behind and catching up, a verification failure', async () => {
    const expiring = await gw.createKeyWith({ name: 'soon', scopes: ['chat'], expiresAt: new Date(Date.now() + 3 * 86_400_000) });
    await gw.createKeyWith({ name: 'later', scopes: ['chat'], expiresAt: new Date(Date.now() + 30 * 86_400_000) });
    await waitFor(() => received('key.expiring').length === 1, 5_000, 'key.expiring');
    expect(received('key.expiring')[0].subject).toBe(expiring.id);

    await waitFor(() => received('sink.lagging').length === 1, 10_000, 'sink.lagging');
    siem.status = undefined;
    await waitFor(() => received('sink.caught_up').length === 1, 10_000, 'sink.caught_up');

    const db = new pg.Client({ connectionString: gw.db.url });
    await db.connect();
    await db.query(`UPDATE audit_events SET caller_name = 'edited' WHERE seq = 2`);
    await db.end();
    for (let i = 0; i < 2; i++) {
      const verify = await request(gw.app.getHttpServer()).get('/audit/verify').set('authorization', `Bearer ${auditor}`);
      expect(verify.body.ok).toBe(false);
    }
    await waitFor(() => received('audit.verify_failed').length === 1, 5_000, 'audit.verify_failed');
    await new Promise((r) => setTimeout(r, 500));
    // Periodic checks ran many times since: still once per occurrence.
    for (const kind of ['key.expiring', 'sink.lagging', 'sink.caught_up', 'audit.verify_failed']) {
      expect({ kind, n: received(kind).length }).toEqual({ kind, n: 1 });
    }
  });

  it('every alert is signed, audited and counted; claims are exclusive across replicas', async () => {
    expect(alerts.badSignatures).toBe(0);
    const all = received();
    expect(all.length).toBe(8);
    const events = await request(gw.app.getHttpServer()).get('/audit/events?type=alert.raised&limit=50').set('authorization', `Bearer ${auditor}`);
    expect(events.body.data.map((e: { details: { alert_id: string } }) => e.details.alert_id).sort()).toEqual(all.map((a) => a.id).sort());
    const metrics = (await request(gw.app.getHttpServer()).get('/metrics')).text;
    expect(metrics).toMatch(/^dify_gateway_alerts_total\{kind="budget.100",result="sent"\} 1$/m);
    expect(metrics).not.toContain(ALERT_KEY);
    expect(gw.output.text()).not.toContain(ALERT_KEY);

    // Five replicas claiming one occurrence at once: exactly one wins.
    const repo = gw.app.get(AlertOccurrenceRepository);
    const claims = await Promise.all(Array.from({ length: 5 }, () => repo.claimOnce('test:race', 'test')));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const flips = await Promise.all(Array.from({ length: 5 }, () => repo.transition('test:subject', 'down', 'up', 'x')));
    expect(flips.filter(Boolean)).toHaveLength(1);
  });
});
