import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { SCOPES } from '../../src/auth/scopes.js';
import { DIFY_ROUTES, type DifyRoute } from '../../src/dify/dify.routes.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const SAMPLE_ID = '0b0e9d7c-1f2a-4c3b-9d8e-7f6a5b4c3d2e';
const DATASET_KEY = 'dataset-CANARYdatasetKEY0123456';

function samplePath(route: DifyRoute): string {
  return route.path
    .replace(/:action/g, 'enable')
    .replace(/:document_action/g, 'archive')
    .replace(/:[a-z_]+/g, SAMPLE_ID);
}

/** Sends the row's method and path; bodies do not matter, the gateway answers before reading them. */
function call(gw: TestGateway, route: DifyRoute, headers: Record<string, string>) {
  const agent = request(gw.baseUrl);
  const path = samplePath(route);
  const req =
    route.method === 'GET'
      ? agent.get(path)
      : route.method === 'POST'
        ? agent.post(path)
        : route.method === 'PUT'
          ? agent.put(path)
          : route.method === 'PATCH'
            ? agent.patch(path)
            : agent.delete(path);
  return req.set(headers);
}

const APP_ROWS = DIFY_ROUTES.filter((r) => r.target !== 'dataset');
const DATASET_ROWS = DIFY_ROUTES.filter((r) => r.target === 'dataset');

describe('scope and app checks on every route row', () => {
  let gw: TestGateway;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-routes-'));
    writeFileSync(join(dir, 'apps.json'), JSON.stringify({ apps: { hr: { apiKeyEnv: 'HR_DIFY_KEY' } }, default: 'default' }));
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: 'app-CANARYdifyKEY0123456789', mode: 'chat' },
          { key: 'app-HRhrHRhrHRhr0123456789ab', mode: 'chat' },
        ],
        datasetKeys: [DATASET_KEY],
      },
      env: { DIFY_APPS_FILE: join(dir, 'apps.json'), HR_DIFY_KEY: 'app-HRhrHRhrHRhr0123456789ab', DIFY_DATASET_API_KEY: DATASET_KEY },
    });
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('covers every row: the table has app and dataset rows', () => {
    expect(APP_ROWS.length).toBeGreaterThan(30);
    expect(DATASET_ROWS.length).toBeGreaterThan(30);
  });

  it('refuses every row to a key without its scope, before Dify', async () => {
    // For each row, a key holding every scope but that row's one.
    const keys = new Map<string, string>();
    for (const scope of new Set(DIFY_ROUTES.map((r) => r.scope))) {
      const others = SCOPES.filter((s) => s !== scope && s !== 'app:all-users');
      keys.set(scope, (await gw.createKeyWith({ name: `all-but-${scope.replace(':', '-')}`, scopes: others, apps: ['default'], datasets: ['*'] })).key);
    }
    const before = gw.sim.requests.length;
    for (const route of DIFY_ROUTES) {
      const res = await call(gw, route, { Authorization: `Bearer ${keys.get(route.scope)}` });
      expect({ row: route.name, status: res.status, code: res.body.code }).toEqual({ row: route.name, status: 403, code: 'forbidden' });
      expect(res.body.message).toContain(`'${route.scope}'`);
    }
    expect(gw.sim.requests.length).toBe(before);
  });

  it('refuses every app row for an app the key is not bound to, and asks a several-app key to choose', async () => {
    const scopes = [...new Set(APP_ROWS.map((r) => r.scope)), 'app:all-users'];
    const single = await gw.createKeyWith({ name: 'default-only', scopes, apps: ['default'] });
    const several = await gw.createKeyWith({ name: 'two-apps', scopes, apps: ['default', 'hr'] });
    const before = gw.sim.requests.length;
    for (const route of APP_ROWS) {
      const other = await call(gw, route, { Authorization: `Bearer ${single.key}`, 'X-Gateway-App': 'hr' });
      expect({ row: route.name, status: other.status, message: other.body.message }).toEqual({
        row: route.name,
        status: 403,
        message: "This key is not bound to app 'hr'.",
      });
      const unnamed = await call(gw, route, { Authorization: `Bearer ${several.key}` });
      expect({ row: route.name, status: unnamed.status }).toEqual({ row: route.name, status: 400 });
      expect(unnamed.body.message).toContain('X-Gateway-App');
    }
    expect(gw.sim.requests.length).toBe(before);
  });

  it('sends a several-app key’s call to the app it names, with that app’s Dify key', async () => {
    const several = await gw.createKeyWith({ name: 'two-apps-info', scopes: ['app:read'], apps: ['default', 'hr'] });
    const res = await request(gw.baseUrl)
      .get('/info')
      .set({ Authorization: `Bearer ${several.key}`, 'X-Gateway-App': 'hr' });
    expect(res.status).toBe(200);
    const sent = gw.sim.requests.at(-1);
    expect(sent?.appKey).toBe('app-HRhrHRhrHRhr0123456789ab');
    expect(sent?.headers['x-gateway-app']).toBeUndefined(); // the choice is the gateway's, not Dify's
  });

  it('refuses every dataset row for a knowledge base outside the allow-list, before Dify', async () => {
    const key = await gw.createKeyWith({
      name: 'one-dataset',
      scopes: ['datasets', 'datasets:write'],
      apps: [],
      datasets: ['7c9e6679-7425-40de-944b-e07fc1f90ae7'],
    });
    const before = gw.sim.requests.length;
    for (const route of DATASET_ROWS.filter((r) => r.path.includes(':dataset_id'))) {
      const res = await call(gw, route, { Authorization: `Bearer ${key.key}` });
      expect({ row: route.name, status: res.status, message: res.body.message }).toEqual({ row: route.name, status: 404, message: 'Dataset not found.' });
    }
    expect(gw.sim.requests.length).toBe(before);
  });
});

describe('dataset rows without a dataset key configured', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  it('answer 403 on every row', async () => {
    const key = await gw.createKeyWith({ name: 'datasets', scopes: ['datasets', 'datasets:write', 'datasets:workspace'], apps: [], datasets: ['*'] });
    for (const route of DATASET_ROWS) {
      const res = await call(gw, route, { Authorization: `Bearer ${key.key}` });
      expect({ row: route.name, status: res.status }).toEqual({ row: route.name, status: 403 });
      expect(res.body.message).toContain('no knowledge (dataset) key');
    }
    expect(gw.sim.requests).toHaveLength(0);
  });
});
