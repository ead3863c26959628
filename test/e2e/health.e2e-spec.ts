/**
 * Kubernetes probes through the real app: /live is the process alone; /ready needs the audit
 * store and Dify (unless DIFY_READY_REQUIRED=false), flips after DIFY_READY_FAILURES failed
 * rounds, and caches the Dify probe for DIFY_READY_CACHE_MS.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';
import { call } from '../support/e2e-client.js';

const infoProbes = (gw: TestGateway) => gw.sim.requests.filter((r) => r.method === 'GET' && r.path === '/v1/info');

describe('with Dify and the database up, then gone (Postgres)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ db: 'postgres', env: { DIFY_READY_FAILURES: '1', DIFY_READY_CACHE_MS: '0' } });
  });
  afterAll(() => gw?.close());

  it('answers /live 200 and /ready 200 when both are up', async () => {
    const live = await call(gw.origin, 'GET', '/live');
    expect(live.status).toBe(200);
    expect(live.json).toMatchObject({ status: 'ok' });

    const ready = await call(gw.origin, 'GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ok', details: { audit_store: { status: 'up' }, dify: { status: 'up' } } });
    // The probe really went to Dify, with the gateway's key.
    expect(infoProbes(gw).length).toBeGreaterThanOrEqual(1);
    expect(infoProbes(gw).every((r) => r.appKey === gw.sim.apps[0].key)).toBe(true);
  });

  it('answers /ready 503 when Dify is unreachable, while /live stays 200', async () => {
    await gw.sim.close();
    const ready = await call(gw.origin, 'GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.json).toMatchObject({ status: 'error', details: { dify: { status: 'down' }, audit_store: { status: 'up' } } });

    const live = await call(gw.origin, 'GET', '/live');
    expect(live.status).toBe(200);
  });

  it('keeps /live at 200 when the database is gone too, and /ready reports the audit store down', async () => {
    await gw.db.drop(); // terminates the gateway's connections and drops its database
    const live = await call(gw.origin, 'GET', '/live');
    expect(live.status).toBe(200);
    expect(live.json).toMatchObject({ status: 'ok' });

    const ready = await call(gw.origin, 'GET', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.json).toMatchObject({ status: 'error', details: { audit_store: { status: 'down' } } });
  });
});

describe('with DIFY_READY_REQUIRED=false', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { DIFY_READY_REQUIRED: 'false', DIFY_READY_FAILURES: '1', DIFY_READY_CACHE_MS: '0' } });
  });
  afterAll(() => gw?.close());

  it('stays ready when Dify is unreachable, and still reports what the probe found', async () => {
    expect((await call(gw.origin, 'GET', '/ready')).status).toBe(200);
    await gw.sim.close();
    const ready = await call(gw.origin, 'GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ status: 'ok', details: { dify: { status: 'up', required: false, apps: { default: 'down' } } } });
    expect((await call(gw.origin, 'GET', '/live')).status).toBe(200);
  });
});

describe('with DIFY_READY_FAILURES=3', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { DIFY_READY_FAILURES: '3', DIFY_READY_CACHE_MS: '0' } });
  });
  afterAll(() => gw?.close());

  it('flips to 503 only after three failed probes in a row', async () => {
    expect((await call(gw.origin, 'GET', '/ready')).status).toBe(200);
    await gw.sim.close();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(gw.origin, 'GET', '/ready')).status);
    expect(statuses).toEqual([200, 200, 503, 503]);
  });
});

describe('with a large DIFY_READY_CACHE_MS', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { DIFY_READY_CACHE_MS: '600000', DIFY_READY_FAILURES: '1' } });
  });
  afterAll(() => gw?.close());

  it('probes Dify at most once for many /ready calls, sequential or concurrent', async () => {
    for (let i = 0; i < 5; i++) expect((await call(gw.origin, 'GET', '/ready')).status).toBe(200);
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => call(gw.origin, 'GET', '/ready')));
    expect(concurrent.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(infoProbes(gw)).toHaveLength(1);
  });

  it('keeps answering from the cache when Dify goes away within DIFY_READY_CACHE_MS', async () => {
    await gw.sim.close();
    expect((await call(gw.origin, 'GET', '/ready')).status).toBe(200);
    expect(infoProbes(gw)).toHaveLength(1);
  });
});

describe('with a cold cache and concurrent first probes', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { DIFY_READY_CACHE_MS: '600000' } });
  });
  afterAll(() => gw?.close());

  it('shares one in-flight probe between concurrent /ready calls', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(gw.origin, 'GET', '/ready')));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(infoProbes(gw)).toHaveLength(1);
  });
});
