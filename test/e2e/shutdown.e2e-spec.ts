/**
 * Graceful shutdown of a real gateway process (`node dist/main.js`, built once per run) with a
 * live stream: SIGTERM turns /ready to 503 and refuses new calls at once, lets the stream finish
 * within SHUTDOWN_DRAIN_MS (or cuts it with an error event and stops its Dify task), writes the
 * audit rows and exits 0.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { startDifySimulator, type DifySimulator } from '../../simulator/dify-simulator.js';
import { ensureBuilt } from '../support/build.js';
import { call, sseEvents } from '../support/call.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const ROOT = process.cwd();
const DIFY_KEY = 'app-SHUTDOWNdifyKEY0123456789';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Child {
  process: ChildProcess;
  origin: string;
  output: () => string;
  exit: Promise<{ code: number | null; at: number }>;
}

describe('graceful shutdown of a real gateway process', () => {
  let sim: DifySimulator;
  let db: TestDatabase;
  let child: Child | undefined;
  let key: string;
  const env = () => ({
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    DIFY_BASE_URL: sim.url,
    DIFY_API_KEY: DIFY_KEY,
    DIFY_ALLOW_INSECURE_HTTP: 'true',
    DATABASE_URL: db.url!,
    MIGRATIONS_DIR: db.migrationsDir,
    DIFY_READY_CACHE_MS: '0',
    DIFY_READY_FAILURES: '1',
    LOG_LEVEL: 'debug',
  });

  async function startGateway(drainMs: number): Promise<Child> {
    const port = await freePort();
    const proc = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
      cwd: ROOT,
      env: { ...env(), PORT: String(port), SHUTDOWN_DRAIN_MS: String(drainMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exit = once(proc, 'exit').then(([code]) => ({ code: code as number | null, at: Date.now() }));
    const origin = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 300; i++) {
      if (proc.exitCode !== null) throw new Error(`gateway exited at start: ${output}`);
      if (
        (await fetch(`${origin}/live`).then(
          (r) => r.status,
          () => 0,
        )) === 200
      )
        return { process: proc, origin, output: () => output, exit };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    proc.kill('SIGKILL');
    throw new Error(`gateway did not start: ${output}`);
  }

  async function openStream(origin: string, user: string) {
    const res = await fetch(`${origin}/v1/chat-messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'A long answer, please', user, response_mode: 'streaming' }),
    });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('"task_id"')) text += new TextDecoder().decode((await reader.read()).value);
    const rest = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    })();
    return { requestId: res.headers.get('x-request-id')!, taskId: /"task_id":\s*"([^"]+)"/.exec(text)![1], rest };
  }

  async function auditRow(requestId: string): Promise<Record<string, unknown> | undefined> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query("SELECT * FROM audit_events WHERE type = 'call.finished' AND request_id = $1", [requestId])).rows[0] as
        Record<string, unknown> | undefined;
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    await ensureBuilt();
    // ~20 words at 150 ms: a stream of about 3 s.
    sim = await startDifySimulator({ apps: [{ key: DIFY_KEY, mode: 'chat' }], streamChunkDelayMs: 150, pingIntervalMs: 1000 });
    db = await createTestDatabase('postgres');
    // The first start applies the migrations; the CLI then creates a key in the same database.
    const first = await startGateway(1000);
    first.process.kill('SIGTERM');
    expect((await first.exit).code).toBe(0);
    const created = execFileSync(
      process.execPath,
      [join(ROOT, 'dist', 'cli.js'), 'keys', 'create', '--name', 'drain-team', '--app', 'default', '--scopes', 'chat', '--json'],
      {
        cwd: ROOT,
        env: env(),
      },
    ).toString();
    key = (JSON.parse(created) as { key: string }).key;
  }, 240_000);

  afterEach(async () => {
    if (child && child.process.exitCode === null) child.process.kill('SIGKILL');
    child = undefined;
  });

  afterAll(async () => {
    await sim?.close();
    await db?.drop();
  });

  it('lets a live stream finish within the drain period, refuses new calls at once, and exits 0', async () => {
    child = await startGateway(10_000);
    const stream = await openStream(child.origin, 'drain-user');
    const signalled = Date.now();
    child.process.kill('SIGTERM');

    await new Promise((resolve) => setTimeout(resolve, 100));
    const ready = await call(child.origin, '/ready');
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('shutdown');
    const refused = await call(`${child.origin}/v1`, '/chat-messages', {
      key,
      body: { inputs: {}, query: 'late', user: 'drain-user', response_mode: 'blocking' },
    });
    expect(refused.status).toBe(503);
    expect(refused.json?.code).toBe('shutting_down');
    expect(refused.headers['retry-after']).toBe('1');
    expect((await call(child.origin, '/live')).status).toBe(200);

    const events = sseEvents(await stream.rest);
    expect(events.at(-1)?.event).toBe('message_end');
    expect(events.some((e) => e.event === 'error')).toBe(false);
    const { code, at } = await child.exit;
    expect(code).toBe(0);
    expect(at - signalled).toBeLessThan(10_000);
    expect(await auditRow(stream.requestId)).toMatchObject({ outcome: 'success', status: 200 });
    expect(sim.requests.filter((r) => r.path === '/v1/chat-messages').length).toBe(1); // the late call never reached Dify
    expect(child.output()).toContain('shutdown_drain_finished');
    if (process.env.SHUTDOWN_LOG) appendFileSync(process.env.SHUTDOWN_LOG, `drain: signal→exit ${at - signalled} ms\n${child.output()}`);
  }, 30_000);

  it('cuts a stream still running when the drain period ends: error event, Dify task stopped, row written, exit 0', async () => {
    sim.reset();
    child = await startGateway(500);
    const stream = await openStream(child.origin, 'cut-user');
    const signalled = Date.now();
    child.process.kill('SIGTERM');

    const events = sseEvents(await stream.rest);
    expect(events.at(-1)).toMatchObject({ event: 'error', status: 503, code: 'shutting_down' });
    const { code, at } = await child.exit;
    expect(code).toBe(0);
    expect(at - signalled).toBeLessThan(5_000);
    const stop = sim.requests.find((r) => r.path === `/v1/chat-messages/${stream.taskId}/stop`);
    const started = sim.requests.find((r) => r.path === '/v1/chat-messages' && r.method === 'POST');
    expect(started?.user).toMatch(/^[0-9a-f]+:cut-user$/); // the team's namespace, as Dify saw it
    expect(stop?.user).toBe(started?.user);
    expect(await auditRow(stream.requestId)).toMatchObject({ outcome: 'cancelled', error_code: 'shutting_down' });
    if (process.env.SHUTDOWN_LOG) appendFileSync(process.env.SHUTDOWN_LOG, `cut: signal→exit ${at - signalled} ms\n${child!.output()}`);
  }, 30_000);
});
