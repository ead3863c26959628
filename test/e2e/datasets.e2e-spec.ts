import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const DATASET_KEY = 'dataset-CANARYdatasetKEY0123456';

describe('knowledge bases behind the datasets scope and a per-key allow-list', () => {
  let gw: TestGateway;
  let handbook: string;
  let pricing: string;
  let secret: string;
  let reader: string;
  let writer: string;
  let all: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      simulator: {
        datasetKeys: [DATASET_KEY],
        datasets: [
          { name: 'Employee handbook', documents: [{ name: 'leave.md', text: 'Annual leave is 30 days.\n\nSick leave needs a note after three days.' }] },
          { name: 'Pricing', documents: [{ name: 'plans.md', text: 'The team plan costs 20 euros per seat.' }] },
          { name: 'Board minutes', documents: [{ name: 'secret.md', text: 'The merger closes in March.' }] },
        ],
      },
      env: { DIFY_DATASET_API_KEY: DATASET_KEY },
    });
    [handbook, pricing, secret] = gw.sim.datasets.map((d) => d.id);
    reader = (await gw.createKeyWith({ name: 'hr-bot', scopes: ['datasets'], apps: [], datasets: [handbook, pricing] })).key;
    writer = (await gw.createKeyWith({ name: 'hr-editor', scopes: ['datasets', 'datasets:write'], apps: [], datasets: [handbook] })).key;
    all = (await gw.createKeyWith({ name: 'kb-admin', scopes: ['datasets'], apps: [], datasets: ['*'] })).key;
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
  });

  const as = (key: string) => ({ Authorization: `Bearer ${key}` });
  const v1 = () => request(gw.baseUrl);

  it('lists only the allowed knowledge bases, with Dify’s paging and keyword filter', async () => {
    const list = await v1().get('/datasets').set(as(reader));
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 2, page: 1, limit: 20, has_more: false });
    expect(list.body.data.map((d: { id: string }) => d.id).sort()).toEqual([handbook, pricing].sort());
    expect(list.body.data[0]).toMatchObject({ name: expect.any(String), document_count: 1 });

    const paged = await v1().get('/datasets?page=1&limit=1').set(as(reader));
    expect(paged.body).toMatchObject({ total: 2, limit: 1, has_more: true });
    expect(paged.body.data).toHaveLength(1);
    const second = await v1().get('/datasets?page=2&limit=1').set(as(reader));
    expect(second.body.has_more).toBe(false);
    expect(second.body.data[0].id).not.toBe(paged.body.data[0].id);

    const keyword = await v1().get('/datasets?keyword=PRIC').set(as(reader));
    expect(keyword.body.data.map((d: { name: string }) => d.name)).toEqual(['Pricing']);
    expect((await v1().get('/datasets?limit=abc').set(as(reader))).status).toBe(400);
  });

  it('passes the whole list through for a key allowed every knowledge base', async () => {
    const list = await v1().get('/datasets?limit=100').set(as(all));
    expect(list.body.total).toBe(3);
    expect(gw.sim.requests.at(-1)?.path).toBe('/v1/datasets');
    expect(gw.sim.requests.at(-1)?.appKey).toBe(DATASET_KEY);
  });

  it('reads documents and retrieves from an allowed knowledge base with the dataset key', async () => {
    const docs = await v1().get(`/datasets/${handbook}/documents`).set(as(reader));
    expect(docs.status).toBe(200);
    expect(docs.body.data.map((d: { name: string }) => d.name)).toEqual(['leave.md']);
    const doc = await v1().get(`/datasets/${handbook}/documents/${docs.body.data[0].id}`).set(as(reader));
    expect(doc.body.name).toBe('leave.md');
    const hits = await v1().post(`/datasets/${handbook}/retrieve`).set(as(reader)).send({ query: 'sick note' });
    expect(hits.status).toBe(200);
    expect(hits.body.records[0].segment.content).toContain('Sick leave');
    expect(gw.sim.requests.at(-1)?.appKey).toBe(DATASET_KEY);
  });

  it('answers 404 for any other knowledge base, without asking Dify', async () => {
    const before = gw.sim.requests.length;
    for (const probe of [
      () => v1().get(`/datasets/${secret}`).set(as(reader)),
      () => v1().get(`/datasets/${secret}/documents`).set(as(reader)),
      () => v1().post(`/datasets/${secret}/retrieve`).set(as(reader)).send({ query: 'merger' }),
      () => v1().get(`/datasets/${pricing}`).set(as(writer)),
    ]) {
      const res = await probe();
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'not_found', message: 'Dataset not found.' });
    }
    expect(gw.sim.requests.length).toBe(before);
  });

  it('needs datasets:write to change a knowledge base', async () => {
    const refused = await v1().post(`/datasets/${handbook}/document/create-by-text`).set(as(reader)).send({ name: 'x.md', text: 'x' });
    expect(refused.status).toBe(403);
    const created = await v1().post(`/datasets/${handbook}/document/create-by-text`).set(as(writer)).send({ name: 'travel.md', text: 'Trains over planes.' });
    expect(created.status).toBe(200);
    expect(created.body.document.name).toBe('travel.md');

    const file = await v1()
      .post(`/datasets/${handbook}/document/create-by-file`)
      .set(as(writer))
      .field('data', JSON.stringify({ indexing_technique: 'high_quality' }))
      .attach('file', Buffer.from('Remote work: two days a week.'), { filename: 'remote.md', contentType: 'text/markdown' });
    expect(file.status).toBe(200);
    // Dataset uploads have no end user: the body went through unchanged, with its length.
    const sent = gw.sim.requests.at(-1);
    expect(sent?.headers['content-length']).toBeDefined();
    expect(sent?.body).toMatchObject({ fields: { data: '{"indexing_technique":"high_quality"}' }, file: { name: 'remote.md' } });
  });

  it('needs the datasets scope at all', async () => {
    const chat = await gw.createKeyWith({ name: 'chat-only', scopes: ['chat'], datasets: ['*'] });
    const res = await v1().get('/datasets').set(as(chat.key));
    expect(res.status).toBe(403);
    expect(res.body.message).toContain("'datasets'");
  });
});
