/** Routing, auth, validation and the request log, over real HTTP with fetch. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startDifySimulator, type DifySimulator } from './dify-simulator.js';

/** A JSON response body, loosely typed for assertions. */
const body = (res: Response): Promise<any> => res.json();

const CHAT_KEY = 'app-chat0000000000000000000001';
const WORKFLOW_KEY = 'app-work0000000000000000000001';
const COMPLETION_KEY = 'app-comp0000000000000000000001';
const DATASET_KEY = 'dataset-kb00000000000000000001';

let sim: DifySimulator;

beforeAll(async () => {
  sim = await startDifySimulator({
    apps: [
      { key: CHAT_KEY, mode: 'chat' },
      { key: WORKFLOW_KEY, mode: 'workflow' },
      { key: COMPLETION_KEY, mode: 'completion' },
    ],
    datasetKeys: [DATASET_KEY],
    streamChunkDelayMs: 1,
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

function post(path: string, body: unknown, key = CHAT_KEY, headers: Record<string, string> = {}) {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const get = (path: string, key = CHAT_KEY) => fetch(`${sim.url}${path}`, { headers: { Authorization: `Bearer ${key}` } });

describe('startDifySimulator', () => {
  it('listens on loopback with a base URL that includes /v1 and a random app key by default', async () => {
    const fresh = await startDifySimulator();
    try {
      expect(fresh.url).toBe(`http://127.0.0.1:${fresh.port}/v1`);
      expect(fresh.apps).toHaveLength(1);
      expect(fresh.apps[0].mode).toBe('chat');
      expect(fresh.apps[0].key).toMatch(/^app-[A-Za-z0-9]{24}$/);
    } finally {
      await fresh.close();
    }
  });

  it('answers GET /v1/ without auth', async () => {
    const res = await fetch(`${sim.url}/`);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({ welcome: 'Dify OpenAPI', api_version: 'v1', server_version: expect.any(String) });
  });

  it('answers unknown routes with a JSON 404, before auth', async () => {
    const res = await fetch(`${sim.url}/no-such-route`);
    expect(res.status).toBe(404);
    expect(await body(res)).toMatchObject({ code: 'not_found', status: 404, message: expect.any(String) });
  });

  it('treats a non-UUID conversation id as a routing 404', async () => {
    const res = await fetch(`${sim.url}/conversations/not-a-uuid`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${CHAT_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'u' }),
    });
    expect(res.status).toBe(404);
    expect((await body(res)).code).toBe('not_found');
  });

  it('serves HEAD from the GET route and OPTIONS with the allowed methods', async () => {
    const head = await fetch(`${sim.url}/info`, { method: 'HEAD', headers: { Authorization: `Bearer ${CHAT_KEY}` } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const options = await fetch(`${sim.url}/chat-messages`, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('answers a known path with the wrong method with 405', async () => {
    const res = await get('/chat-messages');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});

describe('auth (SERVICE_API.md §1)', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['no Authorization header', {}, "Authorization header must be provided and start with 'Bearer'"],
    ['a header without a space', { Authorization: `Bearer${CHAT_KEY}` }, "Authorization header must be provided and start with 'Bearer'"],
    ['another scheme', { Authorization: `Basic ${CHAT_KEY}` }, "Authorization scheme must be 'Bearer'"],
    ['an unknown key', { Authorization: 'Bearer app-unknown00000000000000000' }, 'Access token is invalid'],
    ['a knowledge key on an app route', { Authorization: `Bearer ${DATASET_KEY}` }, 'Access token is invalid'],
  ];

  it.each(cases)('rejects %s with 401 and WWW-Authenticate', async (_name, headers, message) => {
    const res = await fetch(`${sim.url}/info`, { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    expect(await body(res)).toEqual({ code: 'unauthorized', message, status: 401 });
  });

  it('compares the scheme case-insensitively', async () => {
    const res = await fetch(`${sim.url}/info`, { headers: { Authorization: `bEaReR ${CHAT_KEY}` } });
    expect(res.status).toBe(200);
  });

  it('rejects an app key on a knowledge route and accepts the knowledge key there', async () => {
    expect((await get('/datasets', CHAT_KEY)).status).toBe(401);
    const ok = await get('/datasets', DATASET_KEY);
    expect(ok.status).toBe(200);
    expect(await body(ok)).toMatchObject({ data: [], has_more: false, total: 0, page: 1 });
  });
});

describe('request validation', () => {
  it('requires user on generation routes', async () => {
    const res = await post('/chat-messages', { inputs: {}, query: 'hi' });
    expect(res.status).toBe(400);
    expect(await body(res)).toEqual({ code: 'invalid_param', message: 'Arg user must be provided.', status: 400 });
  });

  it('rejects an unknown response_mode', async () => {
    const res = await post('/chat-messages', { inputs: {}, query: 'hi', user: 'u', response_mode: 'sse' });
    expect(res.status).toBe(400);
    expect((await body(res)).code).toBe('invalid_param');
  });

  it('answers 415 for a non-JSON body on a JSON route', async () => {
    const res = await post('/chat-messages', 'user=u', CHAT_KEY, { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect((await body(res)).code).toBe('unsupported_media_type');
  });

  it('answers 400 bad_request for malformed JSON', async () => {
    const res = await post('/chat-messages', '{"inputs": {', CHAT_KEY);
    expect(res.status).toBe(400);
    expect(await body(res)).toEqual({
      code: 'bad_request',
      message: 'Invalid JSON payload received or JSON payload is empty.',
      status: 400,
    });
  });

  it('requires query and inputs on chat messages', async () => {
    const noQuery = await post('/chat-messages', { inputs: {}, user: 'u' });
    expect(noQuery.status).toBe(400);
    expect((await body(noQuery)).message).toContain('query');
    const noInputs = await post('/chat-messages', { query: 'hi', user: 'u' });
    expect(noInputs.status).toBe(400);
    expect((await body(noInputs)).message).toContain('inputs');
  });

  it('answers 404 Conversation Not Exists. for an unknown conversation', async () => {
    const res = await post('/chat-messages', {
      inputs: {},
      query: 'hi',
      user: 'u',
      conversation_id: '00000000-0000-4000-8000-000000000000',
    });
    expect(res.status).toBe(404);
    expect(await body(res)).toEqual({ code: 'not_found', message: 'Conversation Not Exists.', status: 404 });
  });
});

describe('app modes (SERVICE_API.md §2)', () => {
  it('answers not_chat_app for chat routes on a workflow app', async () => {
    const res = await post('/chat-messages', { inputs: {}, query: 'hi', user: 'u' }, WORKFLOW_KEY);
    expect(res.status).toBe(400);
    expect((await body(res)).code).toBe('not_chat_app');
  });

  it('answers app_unavailable for completion routes on a chat app', async () => {
    const res = await post('/completion-messages', { inputs: {}, user: 'u' }, CHAT_KEY);
    expect(res.status).toBe(400);
    expect((await body(res)).code).toBe('app_unavailable');
  });

  it('answers not_workflow_app for workflow routes on a completion app', async () => {
    const res = await post('/workflows/run', { inputs: {}, user: 'u' }, COMPLETION_KEY);
    expect(res.status).toBe(400);
    expect((await body(res)).code).toBe('not_workflow_app');
  });

  it('answers /info with the app mode', async () => {
    const res = await get('/info', WORKFLOW_KEY);
    expect(await body(res)).toMatchObject({ mode: 'workflow', tags: [] });
  });
});

describe('request log', () => {
  it('records method, path, query, key, user and parsed body of every request', async () => {
    await post('/chat-messages', { inputs: {}, query: 'hello', user: 'alice' });
    await fetch(`${sim.url}/conversations?user=bob&limit=5&limit=6`, { headers: { Authorization: 'Bearer nope' } });

    expect(sim.requests).toHaveLength(2);
    const [chat, list] = sim.requests;
    expect(chat).toMatchObject({
      id: expect.any(Number),
      method: 'POST',
      path: '/v1/chat-messages',
      appKey: CHAT_KEY,
      user: 'alice',
      body: { inputs: {}, query: 'hello', user: 'alice' },
    });
    expect(chat.headers['authorization']).toBe(`Bearer ${CHAT_KEY}`);
    expect(list).toMatchObject({ method: 'GET', path: '/v1/conversations', appKey: 'nope', user: 'bob' });
    expect(list.query).toEqual({ user: 'bob', limit: ['5', '6'] });
    expect(list.id).toBeGreaterThan(chat.id);
  });

  it('is emptied by reset()', async () => {
    await get('/info');
    expect(sim.requests).toHaveLength(1);
    sim.reset();
    expect(sim.requests).toHaveLength(0);
  });
});
