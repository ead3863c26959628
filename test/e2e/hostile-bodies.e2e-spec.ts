/**
 * Issue 8: bodies nested too deep or holding too many values, on every route that takes a JSON
 * body (the route table), on /admin (no key, a wrong key, an admin key) and query-string abuse
 * on /audit (it takes no bodies). Each answer is a 4xx in Dify's shape, nothing reaches Dify, and
 * the gateway is still alive afterwards. Also the access line the gateway writes outside /v1.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import request from 'supertest';
import { DIFY_ROUTES } from '../../src/dify/dify.routes.js';
import { MAX_JSON_DEPTH, MAX_JSON_VALUES } from '../../src/common/safe-json.js';
import { SCOPES } from '../../src/auth/scopes.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const DATASET_KEY = 'dataset-HOSTILEbodiesKEY0123456';
const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
const nestedObjects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

/** The hostile bodies, each a JSON object at the top so that only the limits can refuse it. */
const HOSTILE: Record<string, string> = {
  'one level too deep': `{"query":"hi","user":"u","inputs":{"a":${nested(MAX_JSON_DEPTH)}}}`,
  '30,000 nested arrays': `{"query":"hi","user":"u","inputs":${nested(30_000)}}`,
  '5,000 nested objects': `{"query":"hi","user":"u","inputs":${nestedObjects(5_000)}}`,
  'too many values': `{"query":"hi","user":"u","inputs":{"a":[${Array(MAX_JSON_VALUES + 1)
    .fill(0)
    .join(',')}]}}`,
  'too many members': `{"query":"hi","user":"u","inputs":{${Array.from({ length: MAX_JSON_VALUES + 1 }, (_, i) => `"k${i}":0`).join(',')}}}`,
};

function expectDifyShaped4xx(res: request.Response): void {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ code: expect.any(String), message: expect.any(String), status: res.status });
}

describe('hostile JSON bodies on every surface', () => {
  let gw: TestGateway;
  let everything: string;
  let admin: string;
  let auditor: string;
  let datasetId: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      simulator: { datasetKeys: [DATASET_KEY], datasets: [{ name: 'Handbook', documents: [{ name: 'a.md', text: 'hello' }] }] },
      env: { DIFY_DATASET_API_KEY: DATASET_KEY },
    });
    datasetId = gw.sim.datasets[0].id;
    everything = (await gw.createKeyWith({ name: 'team-all', scopes: SCOPES.filter((s) => s !== 'admin' && s !== 'audit:read'), datasets: [datasetId] })).key;
    admin = (await gw.createKey(['admin'], 'platform-admin')).key;
    auditor = (await gw.createKey(['audit:read'], 'auditor')).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  async function expectAlive(): Promise<void> {
    expect((await request(gw.origin).get('/live')).status).toBe(200);
  }

  const jsonRoutes = DIFY_ROUTES.filter((r) => r.body === 'json');
  const pathOf = (template: string) =>
    template
      .replace(':dataset_id', () => datasetId)
      .replace(/:(?:document_)?action\b/, 'enable')
      .replace(/:[a-z_]+/g, 'b7e2a4b0-0000-4000-8000-000000000001');

  it('covers every route of the table that takes a JSON body', () => {
    expect(jsonRoutes.length).toBeGreaterThan(20);
  });

  it.each(Object.keys(HOSTILE))(
    'answers %s on every JSON route with 400 before anything reaches Dify',
    async (kind) => {
      const before = gw.sim.requests.length;
      for (const route of jsonRoutes) {
        const agent = request(gw.baseUrl);
        const res = await agent[route.method.toLowerCase() as 'post']('' + pathOf(route.path))
          .set({ Authorization: `Bearer ${everything}`, 'Content-Type': 'application/json' })
          .send(HOSTILE[kind]);
        expectDifyShaped4xx(res);
        expect({ route: route.name, status: res.status, code: res.body.code }).toEqual({ route: route.name, status: 400, code: 'bad_request' });
      }
      expect(gw.sim.requests.slice(before).map((r) => r.path)).toEqual([]);
      await expectAlive();
    },
    120_000,
  );

  it('forwards a body whose nested objects have `constructor` or `__proto__` members (class-transformer threw a 500 on it)', async () => {
    const inputs = { a: { constructor: [1, 2] }, b: { __proto__: { polluted: true } } };
    const text = JSON.stringify({ query: 'hi', user: 'u', response_mode: 'blocking', inputs }).replace('"b":{}', '"b":{"__proto__":{"polluted":true}}');
    const res = await request(gw.baseUrl)
      .post('/chat-messages')
      .set({ Authorization: `Bearer ${everything}`, 'Content-Type': 'application/json' })
      .send(text);
    expect(res.status).toBe(200);
    const forwarded = gw.sim.requests.at(-1)!;
    expect(forwarded.path).toBe('/v1/chat-messages');
    expect(JSON.stringify(forwarded.body)).toContain('"a":{"constructor":[1,2]}');
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it.each([
    ['no key', undefined, 401],
    ['a wrong key', 'Bearer dgw_wrongWRONGwrongWRONGwrongWRONG0123', 401],
    ['a key without the admin scope', 'auditor', 403],
  ])('refuses hostile admin bodies with %s before reading them', async (_label, authorization, status) => {
    for (const body of Object.values(HOSTILE).slice(0, 3)) {
      const req = request(gw.origin).post('/admin/keys').set('Content-Type', 'application/json');
      if (authorization) req.set('Authorization', authorization === 'auditor' ? `Bearer ${auditor}` : authorization);
      const res = await req.send(body);
      expectDifyShaped4xx(res);
      expect(res.status).toBe(status);
    }
    await expectAlive();
  });

  it('answers /admin without an admin key before reading a byte of the body', async () => {
    // Headers announce a body that never comes: reading it would wait forever.
    const port = Number(new URL(gw.origin).port);
    for (const authorization of ['', `Authorization: Bearer ${auditor}\r\n`]) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(`POST /admin/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n${authorization}\r\n{"name":`);
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          if (text.includes('\r\n\r\n') && text.includes('}')) {
            socket.destroy();
            clearTimeout(timer);
            resolve(text);
          }
        });
        socket.on('error', reject);
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no answer without the body; got: ${text}`));
        }, 3_000);
      });
      expect(answer).toMatch(authorization ? /^HTTP\/1\.1 403/ : /^HTTP\/1\.1 401/);
    }
    await expectAlive();
  });

  it('answers hostile admin bodies with an admin key with 400 (or 413 beyond the admin size cap)', async () => {
    for (const [kind, body] of Object.entries(HOSTILE)) {
      for (const [method, path] of [
        ['post', '/admin/keys'],
        ['patch', '/admin/keys/b7e2a4b0-0000-4000-8000-000000000001'],
        ['post', '/admin/keys/b7e2a4b0-0000-4000-8000-000000000001/rotate'],
      ] as const) {
        const agent = request(gw.origin);
        const res = await agent[method](path)
          .set({ Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' })
          .send(body);
        expectDifyShaped4xx(res);
        expect({ kind, path, status: res.status }).toEqual({ kind, path, status: body.length > 64 * 1024 ? 413 : 400 });
      }
    }
    const tooMany = `{"name":"x","scopes":[${Array(3_000).fill('"chat"').join(',')}]}`;
    const res = await request(gw.origin)
      .post('/admin/keys')
      .set({ Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' })
      .send(tooMany);
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/more than \d+ values/);
    await expectAlive();
  });

  it('refuses query-string abuse on /audit with 4xx (it takes no bodies)', async () => {
    const queries = [
      `caller=${'a'.repeat(20_000)}`,
      Array.from({ length: 2_000 }, (_, i) => `caller=${i}`).join('&'),
      `${'a['.repeat(500)}b${']'.repeat(500)}=1`,
      'limit[$gt]=1&from_seq[]=1&from_seq[]=2',
      'from_seq=99999999999999999999',
    ];
    for (const path of ['/audit/events', '/audit/stats', '/audit/export']) {
      for (const query of queries) {
        const res = await request(gw.origin).get(`${path}?${query}`).set('Authorization', `Bearer ${auditor}`);
        expect({ path, query: query.slice(0, 40), status: res.status < 500 }).toEqual({ path, query: query.slice(0, 40), status: true });
        if (res.status >= 400) expectDifyShaped4xx(res);
      }
    }
    await expectAlive();
  });

  it('writes one access line per request outside /v1: method, path without query, status, duration, request id', async () => {
    const res = await request(gw.origin).get('/admin/keys?secret=hunter2&page=1').set('x-request-id', 'access-line-check-1');
    expect(res.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = gw.output
      .lines()
      .filter((l) => l.includes('access-line-check-1') && l.includes('request completed'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      requestId: 'access-line-check-1',
      req: { method: 'GET', path: '/admin/keys' },
      res: { status: 401 },
      durationMs: expect.any(Number),
    });
    expect(JSON.stringify(lines[0])).not.toContain('hunter2');
    // /v1 calls have their own line (dify_call); probes have none.
    await request(gw.origin).get('/live').set('x-request-id', 'access-line-check-2');
    expect(gw.output.text()).not.toMatch(/access-line-check-2.*request completed|request completed.*access-line-check-2/);
  });
});
