/**
 * Tracing as a real process (`node dist/main.js`) loads it: without an OTLP endpoint not one
 * OpenTelemetry SDK module is loaded (a module hook lists every @opentelemetry file resolved);
 * with one, the SDK loads and a call's spans arrive in the default protocol (http/protobuf).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDifySimulator, type DifySimulator } from '../../simulator/dify-simulator.js';
import { call, eventually } from '../support/e2e-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ensureBuilt, runCli, startGatewayProcess } from '../support/gateway-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

const DIFY_KEY = 'app-TRACINGprocessKEY0123456789';

/** Records every resolved @opentelemetry module of the process it is --import'ed into. */
const HOOK = `
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    if (result.url.includes('/node_modules/@opentelemetry/')) appendFileSync(process.env.MODULE_LOG_FILE, result.url + '\\n');
    return result;
  },
});
`;

describe('the OpenTelemetry SDK in a gateway process', () => {
  let sim: DifySimulator;
  let db: TestDatabase;
  let receiver: OtlpReceiver;
  let dir: string;
  let hook: string;
  let env: Record<string, string>;
  let key: string;

  beforeAll(async () => {
    [sim, db, receiver] = await Promise.all([
      startDifySimulator({ apps: [{ key: DIFY_KEY, mode: 'chat' }] }),
      createTestDatabase('postgres'),
      startOtlpReceiver(),
      ensureBuilt(),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'gw-otel-'));
    hook = join(dir, 'hook.mjs');
    writeFileSync(hook, HOOK);
    env = { DIFY_BASE_URL: sim.url, DIFY_API_KEY: DIFY_KEY, DIFY_ALLOW_INSECURE_HTTP: 'true', DATABASE_URL: db.url!, LOG_LEVEL: 'log' };
  }, 300_000);

  afterAll(async () => {
    await receiver?.close();
    await sim?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** Runs a gateway with `extra` env, makes one chat call, returns the @opentelemetry packages it loaded. */
  async function run(name: string, extra: Record<string, string>): Promise<string[]> {
    const log = join(dir, `${name}.log`);
    writeFileSync(log, '');
    const gw = await startGatewayProcess({ ...env, ...extra, MODULE_LOG_FILE: log }, ['--import', hook]);
    try {
      key ??= (JSON.parse(await runCli(['keys', 'create', '--name', 'otel-team', '--app', 'default', '--scopes', 'chat', '--json'], env)) as { key: string })
        .key;
      const res = await call(gw.origin, 'POST', '/v1/chat-messages', { key, body: { inputs: {}, query: 'hello', user: 'u1', response_mode: 'blocking' } });
      expect(res.status).toBe(200);
      if (extra.OTEL_EXPORTER_OTLP_ENDPOINT) await eventually(() => receiver.bodies.length > 0, 'an OTLP export', 15_000);
    } finally {
      await gw.stop();
    }
    const packages = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((url) => /\/node_modules\/(@opentelemetry\/[^/]+)\//.exec(url)?.[1] ?? url);
    return [...new Set(packages)].sort();
  }

  it('without an endpoint loads no SDK module and sends nothing', async () => {
    const loaded = await run('off', {});
    // prom-client may load the API itself (exemplars); no SDK, exporter or propagator package may be.
    expect(loaded.filter((name) => name !== '@opentelemetry/api')).toEqual([]);
    expect(receiver.bodies).toEqual([]);
  }, 120_000);

  it('with OTEL_EXPORTER_OTLP_ENDPOINT loads the SDK and exports in http/protobuf by default', async () => {
    const loaded = await run('on', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' });
    expect(loaded).toEqual(expect.arrayContaining(['@opentelemetry/sdk-node', '@opentelemetry/sdk-trace', '@opentelemetry/exporter-trace-otlp-proto']));
    expect(receiver.bodies[0]?.contentType).toBe('application/x-protobuf');
    // The protobuf body holds the span names as plain strings.
    expect(receiver.bodies.map((b) => b.text).join('')).toContain('POST /v1/chat-messages');
    expect(receiver.bodies.map((b) => b.text).join('')).not.toContain(DIFY_KEY);
  }, 120_000);
});
