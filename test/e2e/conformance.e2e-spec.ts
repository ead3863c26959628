/**
 * Conformance: for every row of the route table, the gateway answers as Dify (the simulator,
 * called directly) does: a valid call, an invalid one per checked field and a non-uuid id get
 * the same status and code. When Dify refuses a call, the gateway refuses it without sending it
 * (no quota spent on a refusal); when Dify takes it, the gateway sends it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SCOPES } from '../../src/auth/scopes.js';
import { DIFY_ROUTES, type DifyRoute } from '../../src/dify/dify.routes.js';
import { appsFileEnv } from '../support/apps-file.js';
import { UNIQUE, conformanceCalls, type ConformanceCall, type Ids } from '../support/conformance-cases.js';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const DATASET_KEY = 'dataset-CONFORMANCEdatasetKEY0123';
const FLOW_KEY = 'app-CONFORMANCEflowKEY0123456789';
const TEXT_KEY = 'app-CONFORMANCEtextKEY0123456789';

let gw: TestGateway;
let key: string;
let ids: Ids;
let removeApps: () => void;

beforeAll(async () => {
  const apps = appsFileEnv({ flow: { env: 'FLOW_DIFY_KEY', key: FLOW_KEY }, text: { env: 'TEXT_DIFY_KEY', key: TEXT_KEY } });
  removeApps = apps.remove;
  gw = await startTestGateway({
    simulator: {
      apps: [
        { key: CANARY_DIFY_KEY, mode: 'chat' },
        { key: FLOW_KEY, mode: 'workflow' },
        { key: TEXT_KEY, mode: 'completion' },
      ],
      datasetKeys: [DATASET_KEY],
      datasets: [{ name: 'Handbook', documents: [{ name: 'leave.md', text: 'Annual leave is 30 days.\n\nSick leave needs a note.' }] }],
    },
    env: { ...apps.env, DIFY_DATASET_API_KEY: DATASET_KEY },
  });
  key = (await gw.createKeyWith({ name: 'conformance', scopes: [...SCOPES], apps: ['default', 'flow', 'text'], datasets: ['*'] })).key;
  const dataset = gw.sim.datasets[0].id;
  const docs = (await direct(DATASET_KEY, 'GET', `/datasets/${dataset}/documents`)).json as { data: { id: string; batch?: string }[] };
  const document = docs.data[0].id;
  const segments = (await direct(DATASET_KEY, 'GET', `/datasets/${dataset}/documents/${document}/segments`)).json as { data: { id: string }[] };
  const batch = (
    await direct(DATASET_KEY, 'POST', `/datasets/${dataset}/document/create-by-text`, { type: 'application/json', data: '{"name":"x.md","text":"X."}' })
  ).json as { batch: string };
  ids = { dataset, document, segment: segments.data[0].id, batch: batch.batch };
}, 120_000);

afterAll(async () => {
  await gw?.close();
  removeApps?.();
});

interface Answer {
  status: number;
  code?: string;
  json?: unknown;
}

async function send(url: string, auth: Record<string, string>, method: string, body?: ConformanceCall['body']): Promise<Answer> {
  const headers: Record<string, string> = { ...auth };
  if (body) headers['content-type'] = body.type;
  const data = typeof body?.data === 'string' ? body.data.replace(UNIQUE, randomUUID()) : body?.data;
  const res = await fetch(url, { method, headers, body: data });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const code = res.status >= 400 && json && typeof json === 'object' ? (json as { code?: string }).code : undefined;
  return { status: res.status, code, json };
}

function direct(difyKey: string, method: string, path: string, body?: ConformanceCall['body'], query = ''): Promise<Answer> {
  return send(`${gw.sim.url}${path}${query ? `?${query}` : ''}`, { authorization: `Bearer ${difyKey}` }, method, body);
}

function appOf(route: DifyRoute): { alias: string; difyKey: string } {
  if (route.target === 'dataset') return { alias: 'default', difyKey: DATASET_KEY };
  if (route.scope === 'workflow') return { alias: 'flow', difyKey: FLOW_KEY };
  if (route.name.startsWith('completion.')) return { alias: 'text', difyKey: TEXT_KEY };
  return { alias: 'default', difyKey: CANARY_DIFY_KEY };
}

/** Rows the gateway may answer itself: the caller's dataset list, a stop of someone else's task (Dify's silent success). */
const ANSWERED_LOCALLY = new Set(DIFY_ROUTES.filter((r) => r.listsDatasets || r.owned?.foreign === 'ignore').map((r) => r.name));

/** Rows whose Dify answer depends on who calls: the gateway answers for the caller's own resources. */
const OWNER_CHECKED = new Set(DIFY_ROUTES.filter((r) => r.owned || r.ownedInBody).map((r) => r.name));

describe.each(DIFY_ROUTES.map((r) => [r.name, r] as const))('%s', (_name, route) => {
  it('answers every conformance call as Dify does, and sends only what Dify takes', async () => {
    const { alias, difyKey } = appOf(route);
    const results: string[] = [];
    for (const call of conformanceCalls(route, ids)) {
      const want = await direct(difyKey, route.method, call.path, call.body, call.query);
      const before = gw.sim.requests.length;
      const got = await send(
        `${gw.baseUrl}${call.path}${call.query ? `?${call.query}` : ''}`,
        { authorization: `Bearer ${key}`, 'x-gateway-app': alias },
        route.method,
        call.body,
      );
      const forwarded = gw.sim.requests.length > before;
      const same = got.status === want.status && (got.code === want.code || OWNER_CHECKED.has(route.name));
      const difyRefuses = want.status >= 400 && want.status < 500;
      // An invalid call Dify refuses never leaves the gateway (no quota spent on a refusal); a call
      // Dify takes is sent, unless the gateway answers it in Dify's place by design.
      const spent = call.label !== 'valid' && difyRefuses ? !forwarded : difyRefuses || forwarded || ANSWERED_LOCALLY.has(route.name);
      const ok = same && spent;
      results.push(
        `${ok ? 'ok  ' : 'DIFF'} ${call.label}: dify ${want.status} ${want.code ?? ''} | gateway ${got.status} ${got.code ?? ''}${forwarded ? ' (sent)' : ''}`,
      );
    }
    expect(results.filter((r) => r.startsWith('DIFF'))).toEqual([]);
  });
});

describe('GET / (decided: a gateway key is needed, see the README)', () => {
  it('is open at Dify, a 401 at the gateway without a key, and the caller app welcome with one', async () => {
    expect((await send(`${gw.sim.url}/`, {}, 'GET')).status).toBe(200);
    const before = gw.sim.requests.length;
    expect(await send(`${gw.baseUrl}/`, {}, 'GET')).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(gw.sim.requests.length).toBe(before);
    expect(await send(`${gw.baseUrl}/`, { authorization: `Bearer ${key}`, 'x-gateway-app': 'default' }, 'GET')).toMatchObject({
      status: 200,
      json: { api_version: 'v1' },
    });
  });
});
