import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { AdminKeysService } from '../../src/admin/admin-keys.service.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const DATASET = '0b6f1c52-2a39-4a53-9d0e-0e2f8d6b7a11';
const OTHER_DATASET = '5e1d7a80-3c4f-4b7e-8a61-3f0c9b2d4e55';

type Event = { type: string; status: number; outcome: string; caller_name: string; details: Record<string, unknown> | null };

/** Vault's rule for keys: a key hands out only what it holds, in its own namespace or a new one. */
describe('admin API: a key grants only what it holds', () => {
  let gw: TestGateway;
  let admin: { id: string; key: string; namespace: string };
  let auditor: string;
  let teamA: { id: string; key: string; namespace: string };

  beforeAll(async () => {
    gw = await startTestGateway({ db: 'postgres' });
    admin = await gw.createKeyWith({ name: 'ops-admin', scopes: ['admin', 'chat', 'app:read'], datasets: [DATASET], namespace: 'ops' });
    auditor = (await gw.createKey(['audit:read'], 'auditor')).key;
    teamA = await gw.createKeyWith({ name: 'team-a', scopes: ['chat', 'conversations'], namespace: 'team-a' });
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  const asAdmin = () => ({ Authorization: `Bearer ${admin.key}` });
  const post = (body: Record<string, unknown>) => request(gw.origin).post('/admin/keys').set(asAdmin()).send(body);
  const events = async (type: string) => {
    const res = await request(gw.origin).get(`/audit/events?type=${type}&caller=${admin.id}&limit=200`).set('Authorization', `Bearer ${auditor}`);
    expect(res.status).toBe(200);
    return res.body.data as Event[];
  };

  it('refuses scopes the acting key does not hold, naming them', async () => {
    const res = await post({ name: 'root', scopes: ['admin', 'audit:read', 'app:all-users', 'chat', 'conversations'], apps: ['default'] });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'forbidden', status: 403 });
    expect(res.body.message).toContain('scopes audit:read, app:all-users, conversations');
    expect(JSON.stringify(res.body)).not.toContain(admin.key);
  });

  it('refuses datasets it does not hold, and every dataset when it holds a list', async () => {
    const one = await post({ name: 'kb', scopes: ['chat'], apps: ['default'], datasets: [OTHER_DATASET] });
    expect(one.status).toBe(403);
    expect(one.body.message).toContain(`datasets ${OTHER_DATASET}`);
    const all = await post({ name: 'kb', scopes: ['chat'], apps: ['default'], datasets: ['*'] });
    expect(all.status).toBe(403);
    expect(all.body.message).toContain('every dataset');
  });

  it("refuses another team's namespace; its own or a new one is fine", async () => {
    const foreign = await post({ name: 'spy', scopes: ['chat'], apps: ['default'], namespace: 'team-a' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.message).toContain("namespace 'team-a' belongs to other keys");
    expect((await post({ name: 'own', scopes: ['chat'], apps: ['default'], namespace: 'ops' })).status).toBe(201);
    const fresh = await post({ name: 'fresh', scopes: ['chat'], apps: ['default'], datasets: [DATASET], namespace: 'brand-new' });
    expect(fresh.status).toBe(201);
    expect(fresh.body).toMatchObject({ namespace: 'brand-new', datasets: [DATASET] });
  });

  it('cannot raise scopes with PATCH, its own key included', async () => {
    const own = await request(gw.origin)
      .patch(`/admin/keys/${admin.id}`)
      .set(asAdmin())
      .send({ scopes: ['admin', 'chat', 'audit:read'] });
    expect(own.status).toBe(403);
    expect(own.body.message).toContain('scopes audit:read');
    const other = await request(gw.origin)
      .patch(`/admin/keys/${teamA.id}`)
      .set(asAdmin())
      .send({ scopes: ['chat', 'app:all-users'] });
    expect(other.status).toBe(403);
    const narrowed = await request(gw.origin)
      .patch(`/admin/keys/${teamA.id}`)
      .set(asAdmin())
      .send({ scopes: ['chat'] });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.scopes).toEqual(['chat']);
  });

  it("does not rotate a key of another namespace (its new secret would reach that team's data)", async () => {
    const res = await request(gw.origin).post(`/admin/keys/${teamA.id}/rotate`).set(asAdmin()).send({});
    expect(res.status).toBe(403);
    expect(res.body.key).toBeUndefined();
    const mine = await post({ name: 'mine', scopes: ['chat'], apps: ['default'], namespace: 'ops' });
    expect((await request(gw.origin).post(`/admin/keys/${mine.body.id}/rotate`).set(asAdmin()).send({})).status).toBe(200);
  });

  it('records scopes, apps, datasets and namespace in key.created and key.updated', async () => {
    const created = await post({ name: 'recorded', scopes: ['chat', 'app:read'], apps: ['default'], datasets: [DATASET] });
    expect(created.status).toBe(201);
    await request(gw.origin)
      .patch(`/admin/keys/${created.body.id}`)
      .set(asAdmin())
      .send({ scopes: ['chat'] });
    const made = (await events('key.created')).find((e) => e.details?.target === created.body.id);
    expect(made?.details).toMatchObject({ scopes: ['chat', 'app:read'], apps: ['default'], datasets: [DATASET], namespace: created.body.namespace });
    const updated = (await events('key.updated')).find((e) => e.details?.target === created.body.id);
    expect(updated).toMatchObject({ status: 200, outcome: 'success', details: { scopes: ['chat'], namespace: created.body.namespace } });
    const refused = (await events('key.created')).find((e) => e.status === 403 && String(e.details?.reason).includes('audit:read'));
    expect(refused).toMatchObject({
      outcome: 'rejected',
      caller_name: 'ops-admin',
      details: { scopes: ['admin', 'audit:read', 'app:all-users', 'chat', 'conversations'] },
    });
  });

  it('the operator at the CLI (no acting key) stays unrestricted', async () => {
    const cli = gw.app.get(AdminKeysService);
    const made = await cli.create(
      { requestId: 'cli-test', keyId: null, name: 'cli:test' },
      { name: 'cli-made', scopes: ['admin', 'audit:read', 'app:all-users'], apps: ['default'], namespace: 'team-a' },
    );
    expect(made).toMatchObject({ namespace: 'team-a', scopes: ['admin', 'audit:read', 'app:all-users'] });
  });
});
