/**
 * @run-alone two gateway processes, and a key change must reach the other replica within a second
 * (timed), which other test files beside it on a 2-core machine would make flaky
 * (test/support/run-alone.cjs)
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { startDifySimulator, type DifySimulator } from '../../simulator/dify-simulator.js';
import { readSseEvents } from '../../simulator/sse-reader.js';
import { ApiKeyRepository } from '../../src/auth/api-key.repository.js';
import { ApiKeyService } from '../../src/auth/api-key.service.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ensureBuilt, runCli, startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { clearRedisPrefix, TEST_REDIS_URL, testRedisPrefix } from '../support/redis.js';

const DIFY_KEY = 'app-REPLICAreplicaKEY01234567';
const SLOW_ANSWER = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');

interface Created {
  id: string;
  key: string;
  namespace: string;
}

/**
 * Two real gateway processes (`node dist/main.js`) sharing one PostgreSQL database and one Redis,
 * the way replicas run in production. Key lookups are cached for ten minutes here, so only the
 * Redis messages can explain a change reaching the other replica quickly.
 */
describe('two gateway replicas sharing PostgreSQL and Redis', () => {
  let sim: DifySimulator;
  let db: TestDatabase;
  let env: Record<string, string>;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let adminKey: string;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    const [simulator, database] = await Promise.all([
      startDifySimulator({ apps: [{ key: DIFY_KEY, mode: 'chat' }], answer: SLOW_ANSWER, streamChunkDelayMs: 10 }),
      createTestDatabase('postgres'),
      ensureBuilt(),
    ]);
    sim = simulator;
    db = database;
    env = {
      DIFY_BASE_URL: sim.url,
      DIFY_API_KEY: DIFY_KEY,
      DIFY_ALLOW_INSECURE_HTTP: 'true',
      DATABASE_URL: db.url!,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      KEY_CACHE_TTL_MS: '600000',
      DIFY_READY_CACHE_MS: '0',
    };
    // The first admin key, as an operator would make it with the CLI before the first start.
    const opened = await openDatabase(db);
    try {
      adminKey = (
        await new ApiKeyService(new ApiKeyRepository(opened)).create(
          { name: 'platform', scopes: ['admin', 'chat', 'app:read'], apps: ['default'], namespace: 'platform' },
          ['default'],
        )
      ).key;
    } finally {
      await opened.close();
    }
    [a, b] = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await sim?.close();
    await db?.drop();
    await clearRedisPrefix(prefix);
  }, 60_000);

  async function admin(gw: GatewayProcess, method: string, path: string, body?: unknown) {
    const res = await fetch(`${gw.origin}/admin/keys${path}`, {
      method,
      headers: { Authorization: `Bearer ${adminKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async function create(gw: GatewayProcess, body: Record<string, unknown>): Promise<Created> {
    return (await admin(gw, 'POST', '', { apps: ['default'], scopes: ['chat'], ...body })) as unknown as Created;
  }

  function chat(gw: GatewayProcess, key: string, extra: Record<string, unknown> = {}) {
    return fetch(`${gw.origin}/v1/chat-messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'hi', user: 'u', response_mode: 'blocking', ...extra }),
    });
  }

  /** The status of a chat sent from `localAddress` (a loopback address of its own). */
  function chatStatusFrom(gw: GatewayProcess, key: string, localAddress: string): Promise<number> {
    const body = JSON.stringify({ inputs: {}, query: 'hi', user: 'u', response_mode: 'blocking' });
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        `${gw.origin}/v1/chat-messages`,
        { method: 'POST', localAddress, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' } },
        (res) => {
          res.resume().on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  let pollSource = 10;
  /**
   * How long after `since` the replica starts refusing `key` with `status` (polling every 10 ms).
   * Each poll loop calls from a loopback address of its own: refusals beyond a source's budget
   * are answered a second late on purpose (the flood tarpit), which is not what is timed here.
   */
  async function refusedAfter(gw: GatewayProcess, key: string, status: number, since: number): Promise<number> {
    const localAddress = `127.0.0.${pollSource++}`;
    for (;;) {
      const got = await chatStatusFrom(gw, key, localAddress);
      if (got === status) return Date.now() - since;
      if (Date.now() - since > 5000) throw new Error(`still ${got} after 5 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('holds a limit of N requests per minute in total across both replicas', async () => {
    const N = 10;
    const team = await create(a, { name: 'rpm-shared', limits: { requestsPerMinute: N } });
    const before = sim.requests.filter((r) => r.path === '/v1/chat-messages').length;
    const statuses: { replica: string; status: number }[] = [];
    for (let i = 0; i < 3 * N; i++) {
      const replica = i % 2 === 0 ? a : b;
      const res = await chat(replica, team.key);
      await res.arrayBuffer();
      statuses.push({ replica: replica === a ? 'a' : 'b', status: res.status });
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const ok = statuses.filter((s) => s.status === 200);
    expect(ok).toHaveLength(N);
    expect(statuses.filter((s) => s.status === 429)).toHaveLength(2 * N);
    // Both replicas served some and refused some: one count, shared.
    for (const replica of ['a', 'b']) {
      expect(statuses.some((s) => s.replica === replica && s.status === 200)).toBe(true);
      expect(statuses.some((s) => s.replica === replica && s.status === 429)).toBe(true);
    }
    expect(sim.requests.filter((r) => r.path === '/v1/chat-messages').length - before).toBe(N);
  });

  it('refuses a key on the other replica within a second of its revocation', async () => {
    const timings: number[] = [];
    for (let round = 0; round < 5; round++) {
      const team = await create(a, { name: `revoked-${round}` });
      // Both replicas know the key (and cache it for ten minutes).
      for (const gw of [a, b]) expect((await chat(gw, team.key)).status).toBe(200);
      const [via, other] = round % 2 === 0 ? [a, b] : [b, a];
      await admin(via, 'POST', `/${team.id}/revoke`);
      const revokedAt = Date.now();
      timings.push(await refusedAfter(other, team.key, 401, revokedAt));
      expect((await chat(via, team.key)).status).toBe(401);
    }
    console.log(`revocation reached the other replica after ${timings.join(', ')} ms`);
    for (const ms of timings) expect(ms).toBeLessThan(1000);
  });

  it('applies a rotation and a scope change made on one replica on the other at once', async () => {
    // Rotating hands out a secret: only for keys in the acting key's own namespace.
    const team = await create(b, { name: 'rotating', namespace: 'platform' });
    for (const gw of [a, b]) expect((await chat(gw, team.key)).status).toBe(200);
    const rotated = (await admin(b, 'POST', `/${team.id}/rotate`, { graceSeconds: 60 })) as { key: string; previousSecretExpiresAt: string };
    expect((await chat(a, rotated.key)).status).toBe(200);
    const old = await chat(a, team.key);
    expect(old.status).toBe(200); // grace period
    expect(old.headers.get('x-gateway-key-expires')).toBe(rotated.previousSecretExpiresAt);

    await admin(b, 'PATCH', `/${team.id}`, { scopes: ['app:read'] });
    const ms = await refusedAfter(a, rotated.key, 403, Date.now());
    expect(ms).toBeLessThan(1000);
  });

  it('counts open streams of a key across both replicas', async () => {
    const team = await create(a, { name: 'one-stream', limits: { concurrentStreams: 1 } });
    const open = await chat(a, team.key, { response_mode: 'streaming' });
    expect(open.status).toBe(200);
    const other = await chat(b, team.key, { response_mode: 'streaming' });
    expect(other.status).toBe(429);
    expect(((await other.json()) as { code: string }).code).toBe('too_many_streams');
    await readSseEvents(open.body as unknown as AsyncIterable<Uint8Array>);
  });

  describe('the CLI has the admin API’s powers, and reaches running replicas through Redis', () => {
    const cli = (...args: string[]) => runCli(['keys', ...args, '--json'], env);

    it('creates, shows, lists, updates, rotates and revokes', async () => {
      const created = JSON.parse(
        await cli('create', '--name', 'cli-team', '--scopes', 'chat,conversations', '--rpm', '50', '--namespace', 'cli-team'),
      ) as Created & Record<string, unknown>;
      expect(created).toMatchObject({ name: 'cli-team', apps: ['default'], namespace: 'cli-team', limits: { requestsPerMinute: 50 } });
      expect((await chat(a, created.key)).status).toBe(200);

      const shown = JSON.parse(await cli('show', created.id));
      expect(shown).toMatchObject({ id: created.id, status: 'active' });
      expect(JSON.stringify(shown)).not.toContain(created.key);
      const listed = JSON.parse(await cli('list', '--status', 'active')) as { id: string }[];
      expect(listed.map((k) => k.id)).toContain(created.id);

      const updated = JSON.parse(
        await cli('update', created.id, '--scopes', 'conversations', '--rpm', 'default', '--expires', new Date(Date.now() + 86_400_000).toISOString()),
      );
      expect(updated).toMatchObject({ scopes: ['conversations'], limits: { requestsPerMinute: null } });
      expect((await refusedAfter(b, created.key, 403, Date.now())) < 1000).toBe(true);

      const rotated = JSON.parse(await cli('rotate', created.id, '--grace', '0')) as { key: string };
      expect(rotated.key).not.toBe(created.key);
      expect((await refusedAfter(a, created.key, 401, Date.now())) < 1000).toBe(true);

      await cli('revoke', created.id);
      const since = Date.now();
      const onA = await refusedAfter(a, rotated.key, 401, since);
      const onB = await refusedAfter(b, rotated.key, 401, since);
      expect(Math.max(onA, onB)).toBeLessThan(1000);
    });

    it('explains what is wrong, and exits 2', async () => {
      await expect(runCli(['keys', 'create', '--name', 'x', '--scopes', 'nope'], env)).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringContaining('unknown scopes: nope'),
      });
    });
  });
});
