/** The knowledge (dataset) API of the simulator (SERVICE_API.md §5), and app key rotation. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startDifySimulator, type DifySimulator } from './dify-simulator.js';

const APP_KEY = 'app-chat0000000000000000000002';
const DATASET_KEY = 'dataset-kb00000000000000000002';
let sim: DifySimulator;

beforeAll(async () => {
  sim = await startDifySimulator({
    apps: [{ key: APP_KEY, mode: 'chat' }],
    datasetKeys: [DATASET_KEY],
    datasets: [{ name: 'Handbook', documents: [{ name: 'leave.md', text: 'Annual leave is 30 days.\n\nSick leave needs a note.' }] }],
  });
});
afterAll(() => sim.close());

function call(method: string, path: string, body?: unknown, key = DATASET_KEY) {
  return fetch(`${sim.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}
const json = (res: Response): Promise<any> => res.json();

describe('knowledge API', () => {
  it('serves seeded knowledge bases, their documents and chunks', async () => {
    const [seeded] = sim.datasets;
    const list = await json(await call('GET', '/datasets'));
    expect(list).toMatchObject({ total: 1, page: 1, limit: 20, has_more: false, data: [{ id: seeded.id, name: 'Handbook', document_count: 1 }] });
    const docs = await json(await call('GET', `/datasets/${seeded.id}/documents`));
    expect(docs).toMatchObject({ total: 1, data: [{ name: 'leave.md', indexing_status: 'completed' }] });
    const segments = await json(await call('GET', `/datasets/${seeded.id}/documents/${docs.data[0].id}/segments`));
    expect(segments.data.map((s: { content: string }) => s.content)).toEqual(['Annual leave is 30 days.', 'Sick leave needs a note.']);
    const hits = await json(await call('POST', `/datasets/${seeded.id}/retrieve`, { query: 'sick note' }));
    expect(hits.records[0]).toMatchObject({ segment: { content: 'Sick leave needs a note.', document: { name: 'leave.md' } }, score: 1 });
  });

  it('creates, updates and deletes knowledge bases and documents', async () => {
    const created = await json(await call('POST', '/datasets', { name: 'Pricing' }));
    expect((await call('POST', '/datasets', { name: 'Pricing' })).status).toBe(409);
    expect((await json(await call('PATCH', `/datasets/${created.id}`, { description: 'Plans' }))).description).toBe('Plans');
    const doc = await json(await call('POST', `/datasets/${created.id}/document/create-by-text`, { name: 'plans.md', text: 'Team plan: 20 euros.' }));
    expect(doc).toMatchObject({ document: { name: 'plans.md' }, batch: expect.any(String) });
    const form = new FormData();
    form.append('data', JSON.stringify({ indexing_technique: 'economy' }));
    form.append('file', new Blob(['Enterprise: ask sales.'], { type: 'text/plain' }), 'enterprise.txt');
    const byFile = await fetch(`${sim.url}/datasets/${created.id}/document/create-by-file`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${DATASET_KEY}` },
      body: form,
    });
    expect((await json(byFile)).document.name).toBe('enterprise.txt');
    expect((await json(await call('GET', `/datasets/${created.id}/documents?keyword=plans`))).total).toBe(1);
    expect((await call('DELETE', `/datasets/${created.id}/documents/${doc.document.id}`)).status).toBe(204);
    expect((await call('DELETE', `/datasets/${created.id}`)).status).toBe(204);
    const gone = await call('GET', `/datasets/${created.id}`);
    expect(gone.status).toBe(404);
    expect(await json(gone)).toEqual({ code: 'not_found', message: 'Dataset not found.', status: 404 });
  });

  it('accepts only knowledge keys, and only the current ones', async () => {
    expect((await call('GET', '/datasets', undefined, APP_KEY)).status).toBe(401);
    sim.addDatasetKey('dataset-new0000000000000000002');
    sim.removeDatasetKey(DATASET_KEY);
    expect((await call('GET', '/datasets')).status).toBe(401);
    expect((await call('GET', '/datasets', undefined, 'dataset-new0000000000000000002')).status).toBe(200);
    sim.addDatasetKey(DATASET_KEY);
  });
});

describe('app key rotation', () => {
  it('accepts a second key of an app, and stops the first once removed', async () => {
    const next = 'app-chat0000000000000000000003';
    sim.addAppKey(APP_KEY, next);
    expect((await call('GET', '/info', undefined, APP_KEY)).status).toBe(200);
    expect((await call('GET', '/info', undefined, next)).status).toBe(200);
    sim.removeAppKey(APP_KEY);
    expect((await call('GET', '/info', undefined, APP_KEY)).status).toBe(401);
    expect(() => sim.addAppKey('app-unknown', 'x')).toThrow();
  });
});
