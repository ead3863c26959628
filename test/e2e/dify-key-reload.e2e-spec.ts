/**
 * @run-alone a changed key file must reach new calls within 2 s (timed, the reload runs every
 * 100 ms), which other test files beside it on a 2-core machine would make flaky
 * (test/support/run-alone.cjs)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { readSseEvents } from '../../simulator/sse-reader.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const DEFAULT_V1 = 'app-DEFAULTdefaultV1KEY0123';
const DEFAULT_V2 = 'app-DEFAULTdefaultV2KEY0123';
const FLOW_V1 = 'app-FLOWflowFLOWflowV1KEY01';
const FLOW_V2 = 'app-FLOWflowFLOWflowV2KEY01';
const SLOW_ANSWER = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes like Kubernetes does: a new file renamed over the old one. */
function replaceFile(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

describe('Dify keys reloaded from their files without a restart', () => {
  let gw: TestGateway;
  let dir: string;
  let caller: string;
  let auditor: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
    writeFileSync(join(dir, 'default.key'), DEFAULT_V1);
    writeFileSync(join(dir, 'flow.key'), FLOW_V1);
    writeFileSync(join(dir, 'apps.json'), JSON.stringify({ apps: { flow: { apiKeyFile: './flow.key' } }, default: 'default' }));
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: DEFAULT_V1, mode: 'chat' },
          { key: FLOW_V1, mode: 'chat' },
        ],
        answer: SLOW_ANSWER,
        streamChunkDelayMs: 10,
      },
      env: { DIFY_API_KEY: '', DIFY_API_KEY_FILE: join(dir, 'default.key'), DIFY_APPS_FILE: join(dir, 'apps.json'), DIFY_KEYS_RELOAD_MS: '100' },
    });
    caller = (await gw.createKeyWith({ name: 'team', scopes: ['chat'], apps: ['default', 'flow'] })).key;
    auditor = (await gw.createKey(['audit:read'], 'auditor')).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const chat = (app: string) =>
    request(gw.baseUrl)
      .post('/chat-messages')
      .set({ Authorization: `Bearer ${caller}`, 'X-Gateway-App': app })
      .send({ inputs: {}, query: 'hi', user: 'u' });

  /** Calls until Dify sees `key` (the reload runs every 100 ms); returns how long it took. */
  async function untilSent(app: string, key: string): Promise<number> {
    const started = Date.now();
    for (let i = 0; i < 50; i++) {
      const status = (await chat(app)).status;
      if (status === 200 && gw.sim.requests.at(-1)?.appKey === key) return Date.now() - started;
      expect([200, 403]).toContain(status); // 403 while an app is (re)appearing
      await sleep(50);
    }
    throw new Error(`Dify never received ${key.slice(0, 12)}…`);
  }

  it('uses a new key file for new calls while a call in flight finishes with the old key', async () => {
    expect((await chat('flow')).status).toBe(200);
    expect(gw.sim.requests.at(-1)?.appKey).toBe(FLOW_V1);

    const inFlight = await fetch(`${gw.baseUrl}/chat-messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${caller}`, 'X-Gateway-App': 'flow', 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'long', user: 'u', response_mode: 'streaming' }),
    });
    expect(inFlight.status).toBe(200);
    const events = readSseEvents(inFlight.body as unknown as AsyncIterable<Uint8Array>);

    // The operator adds a second key in Dify, mounts it, and later deletes the first one.
    gw.sim.addAppKey(FLOW_V1, FLOW_V2);
    replaceFile(join(dir, 'flow.key'), `${FLOW_V2}\n`);
    const took = await untilSent('flow', FLOW_V2);
    expect(took).toBeLessThan(2000);

    const answer = (await events)
      .filter((e) => e.event === 'message')
      .map((e) => e.data!.answer)
      .join('');
    expect(answer).toBe(SLOW_ANSWER);
    gw.sim.removeAppKey(FLOW_V1);
    expect((await chat('flow')).status).toBe(200);
  });

  it('reloads the DIFY_API_KEY_FILE of the default app the same way', async () => {
    gw.sim.addAppKey(DEFAULT_V1, DEFAULT_V2);
    replaceFile(join(dir, 'default.key'), DEFAULT_V2);
    await untilSent('default', DEFAULT_V2);
    gw.sim.removeAppKey(DEFAULT_V1);
  });

  it('keeps the current key when a file turns invalid, and says so in the log', async () => {
    writeFileSync(join(dir, 'flow.key'), '');
    await sleep(300);
    expect((await chat('flow')).status).toBe(200);
    expect(gw.sim.requests.at(-1)?.appKey).toBe(FLOW_V2);
    expect(gw.output.text()).toContain('Dify keys not reloaded, the previous ones stay in use');
    expect(gw.output.text()).not.toContain(FLOW_V2);
    replaceFile(join(dir, 'flow.key'), FLOW_V2);
  });

  it('drops an app removed from the apps file: its callers get 403', async () => {
    replaceFile(join(dir, 'apps.json'), JSON.stringify({ apps: {} }).replace('{}', '{"other":{"apiKeyFile":"./flow.key"}}'));
    let status = 0;
    for (let i = 0; i < 40 && status !== 403; i++) {
      status = (await chat('flow')).status;
      if (status !== 403) await sleep(50);
    }
    expect(status).toBe(403);
    replaceFile(join(dir, 'apps.json'), JSON.stringify({ apps: { flow: { apiKeyFile: './flow.key' } }, default: 'default' }));
    await untilSent('flow', FLOW_V2);
  });

  it('writes each change to the audit log, without the key', async () => {
    const events = await request(gw.origin).get('/audit/events?limit=200').set('Authorization', `Bearer ${auditor}`);
    type ReloadEvent = { type: string; caller_name: string; details: { action?: string; target?: string | null } | null };
    const reloads = (events.body.data as ReloadEvent[]).filter((e) => e.type === 'config.reloaded' && e.caller_name === 'gateway');
    const routes = reloads.map((e) => [e.details?.action, e.details?.target].filter(Boolean).join(' '));
    expect(routes).toEqual(
      expect.arrayContaining([
        `dify.key_changed flow key=…${FLOW_V2.slice(-4)}`,
        `dify.key_changed default key=…${DEFAULT_V2.slice(-4)}`,
        'dify.removed flow',
        'dify.added other key=…' + FLOW_V2.slice(-4),
      ]),
    );
    expect(JSON.stringify(events.body)).not.toContain(FLOW_V2);
  });
});
