import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('admin API /admin/keys', () => {
  let gw: TestGateway;
  let admin: { id: string; key: string; namespace: string };
  let auditor: { id: string; key: string };

  beforeAll(async () => {
    gw = await startTestGateway({ env: { KEY_LAST_USED_FLUSH_MS: '1000', KEY_CACHE_TTL_MS: '60000' } });
    // A key hands out only what it holds (key-grant.ts): this one holds what the tests grant.
    admin = await gw.createKeyWith({ name: 'platform-admin', scopes: ['admin', 'chat', 'conversations', 'app:read', 'datasets'], datasets: ['*'] });
    auditor = await gw.createKey(['audit:read'], 'auditor');
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  const api = () => request(gw.origin);
  const asAdmin = { Authorization: '' };
  beforeAll(() => {
    asAdmin.Authorization = `Bearer ${admin.key}`;
  });
  const chat = (key: string, headers: Record<string, string> = {}) =>
    request(gw.baseUrl)
      .post('/chat-messages')
      .set({ Authorization: `Bearer ${key}`, ...headers })
      .send({ inputs: {}, query: 'hi', user: 'u1' });

  async function create(body: Record<string, unknown>) {
    const res = await api().post('/admin/keys').set(asAdmin).send(body);
    expect(res.status).toBe(201);
    return res.body as { id: string; key: string; prefix: string; namespace: string } & Record<string, unknown>;
  }

  it('needs a key with the admin scope', async () => {
    expect((await api().get('/admin/keys')).status).toBe(401);
    const res = await api().get('/admin/keys').set('Authorization', `Bearer ${auditor.key}`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'forbidden', status: 403 });
  });

  it('creates a key and shows its secret once; list and show never do', async () => {
    const created = await create({
      name: 'team-search',
      scopes: ['chat', 'conversations'],
      apps: ['default'],
      namespace: 'search',
      limits: { requestsPerMinute: 100, dailyTokens: 0 },
    });
    expect(created).toMatchObject({
      name: 'team-search',
      status: 'active',
      scopes: ['chat', 'conversations'],
      apps: ['default'],
      datasets: [],
      namespace: 'search',
      limits: { requestsPerMinute: 100, concurrentStreams: null, dailyTokens: 0 },
      expiresAt: null,
      lastUsedAt: null,
    });
    expect(created.key).toMatch(/^dgw_[A-Za-z0-9]{40}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    expect((await chat(created.key)).status).toBe(200);

    const shown = await api().get(`/admin/keys/${created.id}`).set(asAdmin);
    expect(shown.status).toBe(200);
    const list = await api().get('/admin/keys').set(asAdmin);
    expect(list.body.data.map((k: { id: string }) => k.id)).toContain(created.id);
    for (const text of [JSON.stringify(shown.body), JSON.stringify(list.body)]) {
      expect(text).not.toContain(created.key);
      expect(text).not.toMatch(/"key"|"hash"/);
    }
    expect((await api().get('/admin/keys?status=revoked').set(asAdmin)).body.data.map((k: { id: string }) => k.id)).not.toContain(created.id);
  });

  it.each([
    [{ name: 'x', scopes: ['chat', 'root'], apps: ['default'] }, /unknown scopes: root/],
    [{ name: 'x', scopes: ['chat'], apps: ['nowhere'] }, /app 'nowhere' is not configured/],
    [{ name: 'x', scopes: ['chat'] }, /need at least one app/],
    [{ name: 'x', scopes: ['chat'], apps: ['default'], namespace: 'Bad:NS' }, /namespace must be/],
    [{ name: 'x', scopes: ['datasets'], datasets: ['not-a-uuid'] }, /datasets must be knowledge base ids/],
    [{ name: 'x', scopes: ['chat'], apps: ['default'], expiresAt: '2000-01-01T00:00:00Z' }, /must be in the future/],
    [{ name: 'x', scopes: ['chat'], apps: ['default'], limits: { requestsPerMinute: -1 } }, /limits.requestsPerMinute must not be less than 0/],
    [{ name: 'x', scopes: ['chat'], apps: ['default'], owner: 'me' }, /property owner should not exist/],
    [{ name: 'x', scopes: 'chat', apps: ['default'] }, /scopes must be an array/],
  ])('refuses an invalid key %#', async (body, message) => {
    const res = await api().post('/admin/keys').set(asAdmin).send(body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_param');
    expect(res.body.message).toMatch(message);
  });

  it('refuses bodies that are not JSON objects', async () => {
    const notJson = await api().post('/admin/keys').set(asAdmin).set('Content-Type', 'text/plain').send('name=x');
    expect(notJson.status).toBe(415);
    const broken = await api().post('/admin/keys').set(asAdmin).set('Content-Type', 'application/json').send('{"name":');
    expect(broken.status).toBe(400);
    expect(broken.body.code).toBe('bad_request');
    expect((await api().get('/admin/keys/not-a-uuid').set(asAdmin)).status).toBe(400);
    expect((await api().get('/admin/keys/7c9e6679-7425-40de-944b-e07fc1f90ae7').set(asAdmin)).status).toBe(404);
  });

  it('updates name, scopes, apps, limits and expiry; a change applies to the next call', async () => {
    const created = await create({ name: 'team-upd', scopes: ['chat', 'app:read'], apps: ['default'] });
    expect((await chat(created.key)).status).toBe(200);
    const res = await api()
      .patch(`/admin/keys/${created.id}`)
      .set(asAdmin)
      .send({ name: 'team-upd-2', scopes: ['app:read'], limits: { requestsPerMinute: 7 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'team-upd-2', scopes: ['app:read'], namespace: created.namespace, limits: { requestsPerMinute: 7 } });
    const refused = await chat(created.key);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("lacks the 'chat' scope");
    const info = await request(gw.baseUrl).get('/info').set('Authorization', `Bearer ${created.key}`);
    expect(info.headers['ratelimit-limit']).toBe('7');

    const back = await api()
      .patch(`/admin/keys/${created.id}`)
      .set(asAdmin)
      .send({ limits: { requestsPerMinute: null }, expiresAt: null });
    expect(back.body.limits.requestsPerMinute).toBeNull();
    const namespace = await api().patch(`/admin/keys/${created.id}`).set(asAdmin).send({ namespace: 'other' });
    expect(namespace.status).toBe(400);
  });

  it('stops an expired key at its expiry, even while the key is cached', async () => {
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const created = await create({ name: 'team-temp', scopes: ['chat'], apps: ['default'], expiresAt });
    const ok = await chat(created.key);
    expect(ok.status).toBe(200);
    expect(ok.headers['x-gateway-key-expires']).toBe(expiresAt);
    await sleep(Date.parse(expiresAt) - Date.now() + 50);
    const late = await chat(created.key);
    expect(late.status).toBe(401);
    expect(late.body.message).toBe('Access token has expired');
    expect((await api().get(`/admin/keys/${created.id}`).set(asAdmin)).body.status).toBe('expired');
  });

  it('rotates: the new secret works at once, the old one for the grace period only', async () => {
    // Rotating hands out a secret: only for keys in the acting key's own namespace.
    const created = await create({ name: 'team-rot', scopes: ['chat'], apps: ['default'], namespace: admin.namespace });
    expect((await chat(created.key)).status).toBe(200); // cached from now on

    const rotated = await api().post(`/admin/keys/${created.id}/rotate`).set(asAdmin).send({ graceSeconds: 2 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.key).toMatch(/^dgw_/);
    expect(rotated.body.key).not.toBe(created.key);
    expect(rotated.body.id).toBe(created.id);
    expect(rotated.body.namespace).toBe(created.namespace);
    const graceEnd = Date.parse(rotated.body.previousSecretExpiresAt);
    expect(graceEnd - Date.now()).toBeGreaterThan(1000);

    expect((await chat(rotated.body.key)).status).toBe(200);
    const old = await chat(created.key);
    expect(old.status).toBe(200);
    expect(old.headers['x-gateway-key-expires']).toBe(rotated.body.previousSecretExpiresAt);
    await sleep(graceEnd - Date.now() + 50);
    expect((await chat(created.key)).status).toBe(401);
    expect((await chat(rotated.body.key)).status).toBe(200);

    const immediate = await api().post(`/admin/keys/${created.id}/rotate`).set(asAdmin).send({ graceSeconds: 0 });
    expect(immediate.body.previousSecretExpiresAt).toBeNull();
    expect((await chat(rotated.body.key)).status).toBe(401);
    expect((await chat(immediate.body.key)).status).toBe(200);
  });

  it('revokes at once; a revoked key cannot be changed or rotated', async () => {
    const created = await create({ name: 'team-rev', scopes: ['chat'], apps: ['default'] });
    expect((await chat(created.key)).status).toBe(200);
    const revoked = await api().post(`/admin/keys/${created.id}/revoke`).set(asAdmin);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
    expect((await chat(created.key)).status).toBe(401);
    expect((await api().post(`/admin/keys/${created.id}/revoke`).set(asAdmin)).body.revokedAt).toBe(revoked.body.revokedAt);
    expect((await api().patch(`/admin/keys/${created.id}`).set(asAdmin).send({ name: 'again' })).status).toBe(409);
    expect((await api().post(`/admin/keys/${created.id}/rotate`).set(asAdmin).send({})).status).toBe(409);
  });

  it('tracks last use in batches, not per request', async () => {
    const created = await create({ name: 'team-usage', scopes: ['chat'], apps: ['default'] });
    const before = Date.now();
    for (let i = 0; i < 3; i++) expect((await chat(created.key)).status).toBe(200);
    let lastUsedAt: string | null = null;
    for (let i = 0; i < 30 && !lastUsedAt; i++) {
      await sleep(100);
      lastUsedAt = (await api().get(`/admin/keys/${created.id}`).set(asAdmin)).body.lastUsedAt;
    }
    expect(lastUsedAt).not.toBeNull();
    expect(Date.parse(lastUsedAt!)).toBeGreaterThanOrEqual(before - 5);
  });

  it('writes every admin action, refused ones included, to the audit log', async () => {
    const created = await create({ name: 'team-audited', scopes: ['chat'], apps: ['default'], namespace: admin.namespace });
    await api().post(`/admin/keys/${created.id}/rotate`).set(asAdmin).send({});
    await api().post(`/admin/keys/${created.id}/revoke`).set(asAdmin);
    await api()
      .post('/admin/keys')
      .set(asAdmin)
      .send({ name: 'bad', scopes: ['nope'] });
    const events = await api().get(`/audit/events?caller=${admin.id}&limit=200`).set('Authorization', `Bearer ${auditor.key}`);
    expect(events.status).toBe(200);
    type AdminEvent = {
      type: string;
      status: number;
      outcome: string;
      error_code: string | null;
      caller_name: string;
      details: { action?: string; target?: string | null } | null;
    };
    const admins = (events.body.data as AdminEvent[]).filter((e) => e.details?.action);
    const actions = admins.map((e) => [e.details!.action, e.details!.target].filter(Boolean).join(' '));
    expect(actions).toEqual(expect.arrayContaining([`keys.create ${created.id}`, `keys.rotate ${created.id}`, `keys.revoke ${created.id}`]));
    expect(admins.map((e) => e.type)).toEqual(expect.arrayContaining(['key.created', 'key.rotated', 'key.revoked']));
    expect(admins.find((e) => e.status === 400)).toMatchObject({
      details: { action: 'keys.create' },
      outcome: 'client_error',
      error_code: 'invalid_param',
      caller_name: 'platform-admin',
    });
    expect(JSON.stringify(events.body)).not.toContain(created.key);
  });
});
