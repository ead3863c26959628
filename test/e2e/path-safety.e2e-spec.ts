/**
 * Path safety: only paths on the route table reach Dify, and only under the configured base URL.
 * Requests are written on a bare socket so that nothing (fetch, URL parsing) normalises the
 * request target before the gateway sees it. Every request carries a key with every scope, so a
 * 404 can only come from the path itself.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SCOPES } from '../../src/auth/scopes.js';
import { DIFY_ROUTES } from '../../src/dify/dify.routes.js';
import { rawHttp, type RawResponse } from '../support/raw-http.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';
import { watchTraffic, type TrafficWatch } from '../support/traffic-watch.js';

let gw: TestGateway;
let traffic: TrafficWatch;
let key: string;
let gwPort: number;

beforeAll(async () => {
  gw = await startTestGateway();
  traffic = watchTraffic();
  key = (await gw.createKey([...SCOPES], 'path-safety')).key;
  gwPort = Number(new URL(gw.origin).port);
});

afterAll(async () => {
  traffic?.stop();
  await gw?.close();
});

beforeEach(() => traffic.clear());

const JSON_HEADERS = (): Record<string, string> => ({ Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' });
const CHAT_BODY = JSON.stringify({ inputs: {}, query: 'hi', user: 'path-user', response_mode: 'blocking' });

function send(method: string, target: string, body?: string): Promise<RawResponse> {
  return rawHttp(gwPort, {
    method,
    target,
    headers: body === undefined ? { Authorization: `Bearer ${key}` } : JSON_HEADERS(),
    body,
  });
}

/** Templates of the table as anchored regexes, built here independently of the gateway's matcher. */
const TABLE = DIFY_ROUTES.map((r) => ({
  method: r.method,
  pattern: new RegExp(`^/v1${r.path === '/' ? '/?' : r.path.replace(/:[a-z_]+/g, '[A-Za-z0-9][A-Za-z0-9._~-]*')}$`),
}));

function onTable(method: string, path: string): boolean {
  return TABLE.some((t) => t.method === method && t.pattern.test(path));
}

/** Only loopback connections to the gateway (from this test) or to the simulator; no DNS lookups. */
function expectNoForeignTraffic(): void {
  const allowed = new Set([`127.0.0.1:${gwPort}`, `127.0.0.1:${gw.sim.port}`]);
  for (const { target } of traffic.outbound) expect(allowed.has(target) ? 'allowed' : target).toBe('allowed');
}

function expectDify404(res: RawResponse): void {
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json).toEqual({ code: 'not_found', message: expect.any(String), status: 404, request_id: expect.any(String) });
}

describe('a positive control: the raw client reaches Dify on a table path', () => {
  it('GET /v1/info is forwarded as /v1/info', async () => {
    const from = gw.sim.requests.length;
    const res = await send('GET', '/v1/info');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ mode: 'chat' });
    expect(gw.sim.requests.slice(from).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/info']);
    expectNoForeignTraffic();
  });

  it('POST /v1/chat-messages is forwarded as /v1/chat-messages', async () => {
    const from = gw.sim.requests.length;
    const res = await send('POST', '/v1/chat-messages', CHAT_BODY);
    expect(res.status).toBe(200);
    expect(gw.sim.requests.slice(from).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/chat-messages']);
  });
});

describe("404 in Dify's shape, and nothing reaches Dify", () => {
  const uuid = randomUUID();
  const cases: Array<[string, string, string?]> = [
    // Off the table
    ['GET', '/v1/console/api/apps'],
    ['GET', '/v1/apps'],
    ['GET', '/v1/apps/some-app-id'],
    ['POST', '/v1/chat-messages/extra', CHAT_BODY],
    ['GET', '/v1/workspaces/current/models'], // the model list by type is a datasets:workspace row
    ['GET', '/v1/docs'],
    ['GET', '/v2/info'],
    ['GET', '/admin'],
    ['GET', '/v1info'],
    ['GET', '/V1/info'],
    ['GET', '/v1/INFO'],
    ['POST', '/v1/apps/annotation-reply/delete', '{"embedding_provider_name":"a","embedding_model_name":"b","score_threshold":1}'],
    // Dot segments, raw and encoded
    ['GET', '/v1/../admin'],
    ['GET', '/v1/../v1/info'],
    ['GET', '/v1/./info'],
    ['GET', '/v1/info/.'],
    ['GET', '/v1/info/..'],
    ['GET', '/v1/files/../preview'],
    ['GET', '/v1/files/..%2F..%2Fetc%2Fpasswd/preview'],
    ['GET', '/v1/files/%2e%2e/preview'],
    ['GET', '/v1/files/%2E%2E/preview'],
    ['GET', '/v1/files/%2e%2e%2f%2e%2e%2finfo/preview'],
    ['GET', '/v1/%2e%2e/admin'],
    ['GET', '/v1/files/..../preview'],
    ['GET', '/v1/files/.hidden/preview'],
    // Encoded separators and other encodings
    ['POST', '/v1/conversations/abc%2Fdef/name', '{"name":"x","user":"u"}'],
    ['GET', '/v1/files/abc%5Cdef/preview'],
    ['GET', '/v1/files/abc%00/preview'],
    ['GET', '/v1/info%3Fx=1'],
    ['GET', '/v1%2Finfo'],
    ['GET', `/v1/files/${uuid}%2Fpreview`],
    // Empty segments and trailing slashes
    ['POST', '/v1//chat-messages', CHAT_BODY],
    ['POST', '/v1/chat-messages/', CHAT_BODY],
    ['GET', '/v1/info/'],
    ['GET', '//v1/info'],
    ['GET', `/v1/files//${uuid}/preview`],
    // Backslashes
    ['GET', '/v1\\info'],
    ['GET', '/v1/info\\'],
    ['GET', '/v1/files\\..\\..\\etc/preview'],
    ['GET', `/v1/files/${uuid}\\..\\..\\info/preview`],
    ['GET', '/v1/files/..\\info/preview'],
    // Smuggling another origin or a matrix parameter into the path
    ['GET', '/v1/http://evil.example/x'],
    ['GET', '/v1/http:/evil.example/info'],
    ['GET', '/v1//evil.example/info'],
    ['GET', '/v1/@evil.example/info'],
    ['GET', '/v1/files/@evil.example/preview'],
    ['GET', '/v1/conversations/..;/x'],
    ['POST', '/v1/conversations/..;/name', '{"name":"x","user":"u"}'],
    ['GET', '/v1/info;jsessionid=1'],
    ['GET', `/v1/files/${uuid};x=1/preview`],
    // Other request-target forms
    ['OPTIONS', '*'],
  ];

  // Rows padded to three cells: jest would take a missing third argument for a `done` callback.
  const rows = cases.map(([method, target, body]) => [method, target, body ?? null] as const);

  it.each(rows)('%s %s', async (method, target, body) => {
    const from = gw.sim.requests.length;
    const res = await send(method, target, body ?? undefined);
    expectDify404(res);
    expect(gw.sim.requests.slice(from)).toEqual([]);
    expect(traffic.served(gw.sim.port)).toEqual([]);
    expectNoForeignTraffic();
  });

  it.each([
    ['absolute-form to another host', 'GET', 'http://evil.example/v1/info'],
    ['absolute-form with a port', 'GET', 'http://evil.example:8080/v1/info'],
    ['absolute-form https', 'GET', 'https://evil.example/v1/info'],
    ['absolute-form with user info', 'GET', `http://user:pass@evil.example/v1/info`],
    ['absolute-form to the gateway itself', 'GET', 'http://127.0.0.1/v1/info'],
    ['absolute-form POST', 'POST', 'http://evil.example/v1/chat-messages'],
  ])('%s: %s %s', async (_name, method, target) => {
    const from = gw.sim.requests.length;
    const res = await send(method, target, method === 'POST' ? CHAT_BODY : undefined);
    expectDify404(res);
    expect(gw.sim.requests.slice(from)).toEqual([]);
    expect(traffic.served(gw.sim.port)).toEqual([]);
    expectNoForeignTraffic();
  });

  it('a Host header naming another host changes nothing upstream', async () => {
    const from = gw.sim.requests.length;
    const res = await rawHttp(gwPort, {
      method: 'GET',
      target: '/v1/info',
      headers: { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https', Authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    const upstream = gw.sim.requests.slice(from);
    expect(upstream.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/info']);
    expect(upstream[0].headers.host).toBe(`127.0.0.1:${gw.sim.port}`);
    expect(upstream[0].headers['x-forwarded-host']).toBeUndefined();
    expectNoForeignTraffic();
  });

  it.each([
    ['dot segments', '/v1/info?next=/../../admin'],
    ['backslashes', '/v1/info?next=\\..\\..\\admin'],
    ['an absolute URL', '/v1/info?next=http://evil.example/x'],
    ['a fragment', '/v1/info?a=1#/../../admin'],
  ])('%s in the query string stay in the query: the path upstream is still /v1/info', async (_name, target) => {
    const from = gw.sim.requests.length;
    const res = await send('GET', target);
    expect(res.status).toBe(200);
    expect(gw.sim.requests.slice(from).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/info']);
    expectNoForeignTraffic();
  });

  it('a CONNECT request never opens a tunnel', async () => {
    const from = gw.sim.requests.length;
    const res = await rawHttp(gwPort, { method: 'CONNECT', target: 'evil.example:443', headers: { Host: 'evil.example:443' } }).catch((error: Error) => error);
    if (!(res instanceof Error)) expect(res.status).toBeGreaterThanOrEqual(400);
    expect(gw.sim.requests.slice(from)).toEqual([]);
    expectNoForeignTraffic();
  });
});

describe('405 for a wrong method on a known path', () => {
  const cases: Array<[string, string, string]> = [
    ['GET', '/v1/chat-messages', 'POST'],
    ['PUT', '/v1/chat-messages', 'POST'],
    ['POST', '/v1/info', 'GET'],
    ['DELETE', '/v1/info', 'GET'],
    ['PATCH', `/v1/conversations/${randomUUID()}`, 'DELETE'],
    ['GET', `/v1/conversations/${randomUUID()}/name`, 'POST'],
    ['DELETE', '/v1/apps/annotations', 'GET, POST'],
    ['POST', `/v1/files/${randomUUID()}/preview`, 'GET'],
    ['PUT', '/v1/files/upload', 'POST'],
  ];

  it.each(cases)('%s %s: 405 method_not_allowed, Allow: %s', async (method, target, allow) => {
    const from = gw.sim.requests.length;
    const res = await send(method, target);
    expect(res.status).toBe(405);
    expect(res.headers.allow.split(/,\s*/).sort()).toEqual(allow.split(', ').sort());
    expect(res.json).toEqual({
      code: 'method_not_allowed',
      message: 'The method is not allowed for the requested URL.',
      status: 405,
      request_id: expect.any(String),
    });
    expect(gw.sim.requests.slice(from)).toEqual([]);
    expectNoForeignTraffic();
  });
});

describe('over the whole file', () => {
  it('Dify only ever saw /v1 paths that are on the table, with the methods of the table', () => {
    expect(gw.sim.requests.length).toBeGreaterThan(0);
    for (const r of gw.sim.requests) {
      expect({ method: r.method, path: r.path, onTable: onTable(r.method, r.path) }).toEqual({ method: r.method, path: r.path, onTable: true });
    }
  });
});
