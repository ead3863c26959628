import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { ApiKeyService } from '../../src/auth/api-key.service.js';
import { ApiKeyRepository } from '../../src/auth/api-key.repository.js';
import { openDatabase } from '../../src/database/open-database.js';
import { startDifySimulator, type DifySimulator } from '../../simulator/dify-simulator.js';
import { signingKeyFile, type AuditEvent } from '../support/audit-gateway.js';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/database.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const APP_KEY = 'app-SIGKILLsigkill0123456789';
const WORKERS = 12;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A gateway child process; its output is kept for the failure message. */
class GatewayProcess {
  readonly output: string[] = [];
  private child?: ChildProcess;
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly origin: string,
  ) {}

  async start(): Promise<void> {
    this.child = spawn(process.execPath, ['dist/main.js'], { cwd: ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
    const child = this.child;
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`gateway exited: ${this.output.join('').slice(-2000)}`);
      const ready = await fetch(`${this.origin}/ready`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`gateway not ready: ${this.output.join('').slice(-2000)}`);
  }

  async stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child?.kill(signal);
    return this.exited!;
  }
}

/** Chat calls in a loop from several workers, until stopped; errors (the gateway is gone) are expected. */
function load(origin: string, key: string): { stop: () => Promise<void>; sent: () => number } {
  let stopped = false;
  let sent = 0;
  const worker = async (w: number) => {
    for (let i = 0; !stopped; i++) {
      sent++;
      await fetch(`${origin}/v1/chat-messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': `load-${w}-${i}` },
        body: JSON.stringify({ inputs: {}, query: 'Tell me a story', user: `user-${w}`, response_mode: i % 2 ? 'streaming' : 'blocking' }),
      })
        .then((res) => res.arrayBuffer())
        .catch(() => new Promise((r) => setTimeout(r, 20)));
    }
  };
  const all = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return {
    stop: async () => {
      stopped = true;
      await all;
    },
    sent: () => sent,
  };
}

async function exportAll(origin: string, key: string): Promise<AuditEvent[]> {
  const res = await fetch(`${origin}/audit/export?format=ndjson`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);
}

describe.each(DATABASE_KINDS)('a gateway killed with SIGKILL under load (%s)', (kind) => {
  let sim: DifySimulator;
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let team: string;
  let auditor: string;
  let origin: string;

  beforeAll(async () => {
    await ensureBuilt(); // the test runs the real `node dist/main.js`
    // Streams of ~1 s: at any moment about one call per worker is in flight.
    sim = await startDifySimulator({
      apps: [{ key: APP_KEY, mode: 'chat' }],
      streamChunkDelayMs: 60,
      answer: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen',
    });
    db = await createTestDatabase(kind);
    const opened = await openDatabase(db);
    try {
      const keys = new ApiKeyService(new ApiKeyRepository(opened));
      team = (await keys.create({ name: 'load', app: 'default', scopes: ['chat'] }, ['default'])).key;
      auditor = (await keys.create({ name: 'compliance', app: 'default', scopes: ['audit:read'] }, ['default'])).key;
    } finally {
      await opened.close();
    }
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    env = {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      DIFY_BASE_URL: sim.url,
      DIFY_API_KEY: APP_KEY,
      DIFY_ALLOW_INSECURE_HTTP: 'true',
      DIFY_READY_CACHE_MS: '0',
      MIGRATIONS_DIR: db.migrationsDir,
      AUDIT_SIGNING_KEY_FILE: signingKeyFile(),
      LOG_LEVEL: 'warn',
      ...(kind === 'postgres' ? { DATABASE_URL: db.url } : { PGLITE_DIR: db.pgliteDir }),
    };
  }, 300_000);

  afterAll(async () => {
    await sim?.close();
    await db?.drop();
  });

  it('loses no record of any request Dify received, and closes the calls left open on restart', async () => {
    const first = new GatewayProcess(env, origin);
    await first.start();
    const traffic = load(origin, team);
    const chats = () => sim.requests.filter((r) => r.path === '/v1/chat-messages');
    const deadline = Date.now() + 30_000;
    while (chats().length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await first.stop('SIGKILL');
    await traffic.stop();
    const received = chats().map((r) => String(r.headers['x-request-id']));
    expect(received.length).toBeGreaterThanOrEqual(60);

    const second = new GatewayProcess(env, origin);
    await second.start();
    try {
      const events = await exportAll(origin, auditor);
      const started = new Map(events.filter((e) => e.type === 'call.started').map((e) => [e.request_id as string, e]));
      // The promise: every request Dify received has its record.
      const missing = received.filter((id) => !started.has(id));
      expect(missing).toEqual([]);

      // Every call is closed: by its own outcome, or by the restart's recovery.
      const finished = new Map(events.filter((e) => e.type === 'call.finished').map((e) => [e.call_id as string, e]));
      const open = [...started.values()].filter((e) => !finished.has(e.call_id as string));
      expect(open.map((e) => e.request_id)).toEqual([]);
      const unknown = [...finished.values()].filter((e) => e.outcome === 'unknown');
      expect(unknown.length).toBeGreaterThan(0); // calls were in flight when the process died
      for (const e of unknown) expect(e).toMatchObject({ error_code: 'gateway_stopped', details: { reason: 'outcome unknown: gateway stopped' } });
      const firstInstance = events.find((e) => e.type === 'gateway.started')!.instance_id;
      const recovered = events.find((e) => e.type === 'gateway.recovered');
      expect(recovered).toMatchObject({ instance_id: firstInstance, details: { calls_closed: unknown.length } });

      const verify = await fetch(`${origin}/audit/verify`, { headers: { authorization: `Bearer ${auditor}` } });
      expect(await verify.json()).toMatchObject({ ok: true, problem: null });
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- first gateway ---\n${first.output.join('').slice(-3000)}\n--- second gateway ---\n${second.output.join('').slice(-3000)}`,
        { cause: error },
      );
    } finally {
      // A clean stop: exit 0, or Nest re-raising SIGTERM after its shutdown hooks ran.
      const exit = await second.stop('SIGTERM');
      expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    }
  }, 180_000);

  it('npm run cli -- audit verify: OK on the intact log, the kind of tampering after an edit', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, ['dist/cli.js', 'audit', 'verify', ...args], { cwd: ROOT, env }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    const ok = await cli();
    expect(ok.code).toBe(0);
    // At least the checkpoint the second gateway wrote when it stopped.
    expect(ok.out).toMatch(/^OK: \d+ events verified \(seq 1-\d+\), [1-9]\d* checkpoints?, signatures checked/);
    expect((await cli('--from', '2', '--to', '5')).out).toMatch(/^OK: 5 events verified \(seq 1-5, for the range 2-5\)/);

    const lifecycle = `SELECT type FROM audit_events WHERE type LIKE 'gateway.%' ORDER BY seq`;
    const edit = `UPDATE audit_events SET outcome = 'success' WHERE seq = (SELECT min(seq) FROM audit_events WHERE outcome = 'unknown')`;
    if (kind === 'postgres') {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      expect((await client.query(lifecycle)).rows.map((r) => r.type)).toEqual(['gateway.started', 'gateway.started', 'gateway.recovered', 'gateway.stopped']);
      await client.query(edit);
      await client.end();
    } else {
      const opened = await openDatabase(db);
      const types = await opened.client.$queryRawUnsafe<{ type: string }[]>(lifecycle);
      expect(types.map((r) => r.type)).toEqual(['gateway.started', 'gateway.started', 'gateway.recovered', 'gateway.stopped']);
      await opened.client.$executeRawUnsafe(edit);
      await opened.close();
    }
    const tampered = await cli();
    expect(tampered.code).toBe(3);
    expect(tampered.out).toMatch(/^TAMPERED: edited at seq \d+ \(event [0-9a-f-]{36}\): event \d+ was changed after it was written/);
  }, 120_000);
});
