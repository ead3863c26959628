/**
 * §13.8: a 2025 Dify ignores `created_by_end_user_session_id` and lists every end user's workflow
 * logs. The gateway must not rely on the filter: it keeps only the caller's own items.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { appsFileEnv } from '../support/apps-file.js';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const FLOW_KEY = 'app-LEGACYflowKEY0123456789abc';
const SCOPES = ['workflow'];

describe('workflow logs from a Dify that ignores the session filter', () => {
  let gw: TestGateway;
  let removeApps: () => void;
  let a: string;
  let b: string;
  let everyone: string;

  beforeAll(async () => {
    const apps = appsFileEnv({ flow: { env: 'FLOW_DIFY_KEY', key: FLOW_KEY } });
    removeApps = apps.remove;
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: CANARY_DIFY_KEY, mode: 'chat' },
          { key: FLOW_KEY, mode: 'workflow' },
        ],
        legacyWorkflowLogs: true,
      },
      env: apps.env,
    });
    a = (await gw.createKeyWith({ name: 'team-a', scopes: SCOPES, apps: ['flow'], namespace: 'team-a' })).key;
    b = (await gw.createKeyWith({ name: 'team-b', scopes: SCOPES, apps: ['flow'], namespace: 'team-b' })).key;
    everyone = (await gw.createKeyWith({ name: 'analytics', scopes: [...SCOPES, 'app:all-users'], apps: ['flow'] })).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    removeApps?.();
  });

  const as = (key: string) => ({ Authorization: `Bearer ${key}`, 'X-Gateway-App': 'flow' });
  const run = (key: string, user: string) => request(gw.baseUrl).post('/workflows/run').set(as(key)).send({ inputs: {}, user, response_mode: 'blocking' });

  it("shows a team only its own end users' logs, whatever Dify returned", async () => {
    expect((await run(a, 'alice')).status).toBe(200);
    expect((await run(b, 'alice')).status).toBe(200);
    expect((await run(b, 'bob')).status).toBe(200);

    // Dify itself answers every log: the filter reached it, and it ignored it.
    const direct = await fetch(`${gw.sim.url}/workflows/logs?created_by_end_user_session_id=team-a:alice&limit=100`, {
      headers: { Authorization: `Bearer ${FLOW_KEY}` },
    });
    expect(((await direct.json()) as { data: unknown[] }).data).toHaveLength(3);

    const logs = await request(gw.baseUrl).get('/workflows/logs?created_by_end_user_session_id=alice&limit=100').set(as(a));
    expect(logs.status).toBe(200);
    expect(logs.body.data.map((e: { created_by_end_user: { session_id: string } }) => e.created_by_end_user.session_id)).toEqual(['alice']);
    expect(gw.sim.requests.at(-1)?.query).toMatchObject({ created_by_end_user_session_id: 'team-a:alice' });

    const forB = await request(gw.baseUrl).get('/workflows/logs?created_by_end_user_session_id=bob&limit=100').set(as(b));
    expect(forB.body.data.map((e: { created_by_end_user: { session_id: string } }) => e.created_by_end_user.session_id).sort()).toEqual(['alice', 'bob']);
    expect(JSON.stringify(forB.body)).not.toContain('team-a');

    // A key allowed to see every end user gets Dify's answer as it is.
    const all = await request(gw.baseUrl).get('/workflows/logs?limit=100').set(as(everyone));
    expect(all.body.data).toHaveLength(3);
  });
});
