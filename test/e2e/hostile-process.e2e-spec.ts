/**
 * The attack of issue 8 against a real gateway process (`node dist/main.js`): one
 * unauthenticated POST /admin/keys with 30,000 nested arrays used to be answered 401 and then
 * kill the process from the access-log formatter. The process must answer 4xx and stay up.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDifySimulator, type DifySimulator } from '../../simulator/dify-simulator.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ensureBuilt, startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

const DIFY_KEY = 'app-HOSTILEprocessKEY0123456789';
const NESTED_ARRAYS = '['.repeat(30_000) + ']'.repeat(30_000);

describe('hostile bodies against a real gateway process', () => {
  let sim: DifySimulator;
  let db: TestDatabase;
  let gw: GatewayProcess;

  beforeAll(async () => {
    [sim, db] = await Promise.all([startDifySimulator({ apps: [{ key: DIFY_KEY, mode: 'chat' }] }), createTestDatabase('postgres'), ensureBuilt()]);
    gw = await startGatewayProcess({
      DIFY_BASE_URL: sim.url,
      DIFY_API_KEY: DIFY_KEY,
      DIFY_ALLOW_INSECURE_HTTP: 'true',
      DATABASE_URL: db.url!,
      LOG_LEVEL: 'log',
    });
  }, 300_000);

  afterAll(async () => {
    await gw?.stop();
    await sim?.close();
    await db?.drop();
  }, 60_000);

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('answers 30,000 nested arrays without a key with 401 and stays alive', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.origin}/admin/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: NESTED_ARRAYS });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'unauthorized', status: 401 });
    }
    await sleep(300); // the access line is written after the response: give a crash time to happen
    expect(gw.child.exitCode).toBeNull();
    expect((await fetch(`${gw.origin}/live`)).status).toBe(200);
    expect(gw.output()).not.toContain('Maximum call stack');
    const access = gw
      .output()
      .split('\n')
      .filter((l) => l.includes('request completed'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(access).toHaveLength(3);
    expect(access[0]).toMatchObject({
      req: { method: 'POST', path: '/admin/keys' },
      res: { status: 401 },
      durationMs: expect.any(Number),
      requestId: expect.any(String),
    });
  });

  it('answers the same body with a wrong key and a deep /v1 body with 4xx, and stays alive', async () => {
    const wrong = await fetch(`${gw.origin}/admin/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer dgw_notAKeyAtAll0123456789' },
      body: NESTED_ARRAYS,
    });
    expect(wrong.status).toBe(401);
    const v1 = await fetch(`${gw.origin}/v1/chat-messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"query":"hi","user":"u","inputs":${NESTED_ARRAYS}}`,
    });
    expect(v1.status).toBe(401);
    await sleep(300);
    expect(gw.child.exitCode).toBeNull();
    expect((await fetch(`${gw.origin}/live`)).status).toBe(200);
  });
});
