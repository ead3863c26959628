/**
 * Caller authentication and authorisation through the real HTTP stack: every way a request can
 * lack a usable gateway key is a 401 in Dify's shape (with WWW-Authenticate) that never reaches
 * Dify; a usable key without the route's scope is a 403 naming the scope. No answer ever names
 * or lists the keys that exist.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ApiKeyService } from '../../src/auth/api-key.service.js';
import { SCOPES } from '../../src/auth/scopes.js';
import { rawHttp } from '../support/raw-http.js';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const MISSING = "Authorization header must be provided and start with 'Bearer'";
const SCHEME = "Authorization scheme must be 'Bearer'";
const INVALID = 'Access token is invalid';

let gw: TestGateway;
let appRead: { id: string; key: string };
let chatOnly: { id: string; key: string };
let allButAudit: { id: string; key: string };
let auditReader: { id: string; key: string };
const created: Array<{ id: string; key: string; name: string }> = [];

async function key(scopes: string[], name: string): Promise<{ id: string; key: string }> {
  const k = await gw.createKey(scopes, name);
  created.push({ ...k, name });
  return k;
}

beforeAll(async () => {
  gw = await startTestGateway();
  appRead = await key(['app:read'], 'auth-app-reader');
  chatOnly = await key(['chat'], 'auth-chat-only');
  allButAudit = await key(
    SCOPES.filter((s) => s !== 'audit:read'),
    'auth-everything-but-audit',
  );
  auditReader = await key(['audit:read'], 'auth-auditor');
});

afterAll(async () => {
  await gw?.close();
});

/** A random well-formed gateway key that was never issued. */
function unknownKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return `dgw_${[...randomBytes(40)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

async function getInfo(headers: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${gw.baseUrl}/info`, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** No answer may name an existing key: its secret, displayed prefix, id or name. */
function expectNoKeyListed(body: unknown): void {
  const text = JSON.stringify(body);
  for (const k of created) {
    expect(text).not.toContain(k.key);
    expect(text).not.toContain(k.key.slice(0, 10));
    expect(text).not.toContain(k.id);
    expect(text).not.toContain(k.name);
  }
  expect(text).not.toContain(CANARY_DIFY_KEY);
  expect(text).not.toMatch(/dgw_[A-Za-z0-9]{4,}/);
}

function expect401(res: { status: number; body: any; headers: Headers }, message: string | RegExp): void {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"');
  expect(res.body).toEqual({
    code: 'unauthorized',
    message: typeof message === 'string' ? message : expect.stringMatching(message),
    status: 401,
    request_id: expect.any(String),
  });
  expectNoKeyListed(res.body);
}

describe("401 in Dify's shape, and Dify is never called", () => {
  const cases: Array<[string, () => Record<string, string>, string | RegExp]> = [
    ['no Authorization header', () => ({}), MISSING],
    ['an empty Authorization header', () => ({ Authorization: '' }), MISSING],
    ['the scheme alone', () => ({ Authorization: 'Bearer' }), MISSING],
    ['no space between scheme and key', () => ({ Authorization: `Bearer${appRead.key}` }), MISSING],
    ['three parts', () => ({ Authorization: `Bearer ${appRead.key} extra` }), MISSING],
    ['the Basic scheme', () => ({ Authorization: `Basic ${Buffer.from(`user:${appRead.key}`).toString('base64')}` }), SCHEME],
    ['a Token scheme with a valid key', () => ({ Authorization: `Token ${appRead.key}` }), SCHEME],
    ['a malformed key (not dgw_)', () => ({ Authorization: 'Bearer not-a-gateway-key' }), /^Access token is invalid/],
    ['a dgw_ key that is too short', () => ({ Authorization: 'Bearer dgw_abc' }), /^Access token is invalid/],
    ['a dgw_ key with a bad character', () => ({ Authorization: `Bearer ${appRead.key.slice(0, -1)}!` }), /^Access token is invalid/],
    ['a Dify app key sent directly', () => ({ Authorization: `Bearer ${CANARY_DIFY_KEY}` }), /^Access token is invalid/],
    ['an unknown well-formed key', () => ({ Authorization: `Bearer ${unknownKey()}` }), INVALID],
    [
      'a valid key with one character changed',
      () => ({ Authorization: `Bearer ${appRead.key.slice(0, -1)}${appRead.key.endsWith('A') ? 'B' : 'A'}` }),
      INVALID,
    ],
    ['the key in X-Api-Key instead of Authorization', () => ({ 'X-Api-Key': appRead.key }), MISSING],
  ];

  it.each(cases)('%s', async (_name, headers, message) => {
    const from = gw.sim.requests.length;
    const res = await getInfo(headers());
    expect401(res, message);
    expect(gw.sim.requests.length).toBe(from);
  });

  it('a key in the query string is not accepted', async () => {
    const from = gw.sim.requests.length;
    const res = await fetch(`${gw.baseUrl}/info?api_key=${appRead.key}&key=${appRead.key}`);
    expect401({ status: res.status, body: await res.json(), headers: res.headers }, MISSING);
    expect(gw.sim.requests.length).toBe(from);
  });

  it('a Dify key sent directly never reaches Dify, even on a POST', async () => {
    const from = gw.sim.requests.length;
    const res = await fetch(`${gw.baseUrl}/chat-messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${CANARY_DIFY_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'hi', user: 'u' }),
    });
    expect401({ status: res.status, body: await res.json(), headers: res.headers }, /^Access token is invalid/);
    expect(gw.sim.requests.length).toBe(from);
  });

  it('a revoked key stops working at once', async () => {
    const doomed = await key(['app:read'], 'auth-to-be-revoked');
    const before = await getInfo({ Authorization: `Bearer ${doomed.key}` });
    expect(before.status).toBe(200);

    const revoked = await gw.app.get(ApiKeyService).revoke(doomed.id);
    expect(revoked.revokedAt).toBeInstanceOf(Date);

    const from = gw.sim.requests.length;
    const after = await getInfo({ Authorization: `Bearer ${doomed.key}` });
    expect401(after, INVALID);
    expect(gw.sim.requests.length).toBe(from);
  });

  it('401s are the same for an unknown key and a revoked key (no oracle)', async () => {
    const doomed = await key(['app:read'], 'auth-revoked-two');
    await gw.app.get(ApiKeyService).revoke(doomed.id);
    const revoked = await getInfo({ Authorization: `Bearer ${doomed.key}` });
    const unknown = await getInfo({ Authorization: `Bearer ${unknownKey()}` });
    expect(revoked.status).toBe(unknown.status);
    expect({ ...revoked.body, request_id: null }).toEqual({ ...unknown.body, request_id: null });
  });
});

describe('the Bearer scheme', () => {
  it.each([
    ['Bearer', (k: string) => `Bearer ${k}`],
    ['bearer', (k: string) => `bearer ${k}`],
    ['BEARER', (k: string) => `BEARER ${k}`],
    ['BeArEr', (k: string) => `BeArEr ${k}`],
    ['several spaces', (k: string) => `Bearer    ${k}`],
    ['a tab', (k: string) => `Bearer\t${k}`],
  ])('%s: accepted, and Dify gets the Dify key', async (_name, header) => {
    const from = gw.sim.requests.length;
    const res = await getInfo({ Authorization: header(appRead.key) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mode: 'chat' });
    const upstream = gw.sim.requests.slice(from);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ method: 'GET', path: '/v1/info', appKey: CANARY_DIFY_KEY });
    expect(upstream[0].headers.authorization).toBe(`Bearer ${CANARY_DIFY_KEY}`);
  });

  it('a lower-case header name sent raw is accepted too', async () => {
    const res = await rawHttp(Number(new URL(gw.origin).port), {
      method: 'GET',
      target: '/v1/info',
      headers: { authorization: `bearer ${appRead.key}` },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ mode: 'chat' });
  });
});

describe('403 for a missing scope', () => {
  it('names the missing scope, lists no keys, and Dify is not called', async () => {
    const from = gw.sim.requests.length;
    const res = await getInfo({ Authorization: `Bearer ${chatOnly.key}` });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(res.body).toEqual({
      code: 'forbidden',
      message: "This key lacks the 'app:read' scope needed for this endpoint.",
      status: 403,
      request_id: expect.any(String),
    });
    expectNoKeyListed(res.body);
    expect(gw.sim.requests.length).toBe(from);
  });

  it('the scope check uses the route row: chat-only key on a conversations route names conversations', async () => {
    const from = gw.sim.requests.length;
    const res = await fetch(`${gw.baseUrl}/conversations?user=u`, { headers: { Authorization: `Bearer ${chatOnly.key}` } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'forbidden', message: "This key lacks the 'conversations' scope needed for this endpoint." });
    expect(gw.sim.requests.length).toBe(from);
  });

  it("the 401 for a missing key comes before the scope check (no hint about the route's scope)", async () => {
    const res = await fetch(`${gw.baseUrl}/conversations?user=u`);
    const body = (await res.json()) as { message: string };
    expect(res.status).toBe(401);
    expect(body.message).toBe(MISSING);
    expect(body.message).not.toContain('conversations');
  });
});

describe('/audit/events', () => {
  it("401 without a key, in Dify's shape with WWW-Authenticate", async () => {
    const res = await fetch(`${gw.origin}/audit/events`);
    expect401({ status: res.status, body: await res.json(), headers: res.headers }, MISSING);
  });

  it('401 with a revoked or unknown key', async () => {
    const res = await fetch(`${gw.origin}/audit/events`, { headers: { Authorization: `Bearer ${unknownKey()}` } });
    expect401({ status: res.status, body: await res.json(), headers: res.headers }, INVALID);
  });

  it('403 for a key with every scope but audit:read', async () => {
    const res = await fetch(`${gw.origin}/audit/events`, { headers: { Authorization: `Bearer ${allButAudit.key}` } });
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body).toEqual({
      code: 'forbidden',
      message: "This key lacks the 'audit:read' scope needed for this endpoint.",
      status: 403,
      request_id: expect.any(String),
    });
    expectNoKeyListed(body);
  });

  it('403 on a single event too', async () => {
    const res = await fetch(`${gw.origin}/audit/events/00000000-0000-4000-8000-000000000000`, {
      headers: { Authorization: `Bearer ${chatOnly.key}` },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'forbidden', message: expect.stringContaining("'audit:read'") });
  });

  it('200 with audit:read; the rejected calls above are in the log without any secret', async () => {
    const res = await fetch(`${gw.origin}/audit/events?limit=200`, { headers: { Authorization: `Bearer ${auditReader.key}` } });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { data: Array<{ status: number }> };
    expect(page).toMatchObject({ data: expect.any(Array), limit: 200 });
    expect(page.data.some((e: { status: number }) => e.status === 401)).toBe(true);
    expect(page.data.some((e: { status: number }) => e.status === 403)).toBe(true);
    const text = JSON.stringify(page);
    for (const k of created) expect(text).not.toContain(k.key);
    expect(text).not.toContain(CANARY_DIFY_KEY);
  });

  it('an audit:read key cannot call Dify routes', async () => {
    const from = gw.sim.requests.length;
    const res = await getInfo({ Authorization: `Bearer ${auditReader.key}` });
    expect(res.status).toBe(403);
    expect(res.body.message).toContain("'app:read'");
    expect(gw.sim.requests.length).toBe(from);
  });
});
