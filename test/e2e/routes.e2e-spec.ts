/**
 * The route table, end to end: every row of DIFY_ROUTES is reachable with exactly its scope and
 * unreachable without it; bodies are checked before anything is spent upstream; statuses and
 * query strings pass through as Dify gives and takes them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SCOPES, type Scope } from '../../src/auth/scopes.js';
import { DIFY_ROUTES, type DifyRoute } from '../../src/dify/dify.routes.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';
import { watchTraffic, type ServedExchange, type TrafficWatch } from '../support/traffic-watch.js';

const USER = 'route-user';
/** Dify sees every end user in the calling key's namespace (src/isolation): `<namespace>:<user>`. */
const namespaced = (user: string) => expect.stringMatching(new RegExp(`^[0-9a-f]{12}:${user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));

let gw: TestGateway;
let traffic: TrafficWatch;
const onlyScope = new Map<Scope, string>();
const allButScope = new Map<Scope, string>();
const allUsersKeys = new Map<Scope, string>();
let allScopesKey: string;

beforeAll(async () => {
  gw = await startTestGateway();
  traffic = watchTraffic();
  for (const scope of SCOPES) {
    onlyScope.set(scope, (await gw.createKey([scope], `only-${scope.replace(':', '-')}`)).key);
    allButScope.set(
      scope,
      (
        await gw.createKey(
          SCOPES.filter((s) => s !== scope),
          `all-but-${scope.replace(':', '-')}`,
        )
      ).key,
    );
    allUsersKeys.set(scope, (await gw.createKey([scope, 'app:all-users'], `all-users-${scope.replace(':', '-')}`)).key);
  }
  allScopesKey = (await gw.createKey([...SCOPES], 'all-scopes')).key;
});

afterAll(async () => {
  traffic?.stop();
  await gw?.close();
});

// ------------------------------------------------------------------ request builders

const PARAM_VALUES: Record<string, () => string> = {
  action: () => 'enable',
  form_token: () => `form${randomUUID().replace(/-/g, '')}`,
};

function concretePath(route: DifyRoute): string {
  return route.path.replace(/:([a-z_]+)/g, (_, name: string) => (PARAM_VALUES[name] ?? randomUUID)());
}

const JSON_BODIES: Record<string, Record<string, unknown>> = {
  'chat.create': { inputs: {}, query: 'Hello from the route table', user: USER, response_mode: 'blocking' },
  'chat.stop': { user: USER },
  'completion.create': { inputs: {}, user: USER, response_mode: 'blocking' },
  'completion.stop': { user: USER },
  'workflow.run': { inputs: {}, user: USER, response_mode: 'blocking' },
  'workflow.run_version': { inputs: {}, user: USER, response_mode: 'blocking' },
  'workflow.stop': { user: USER },
  'form.submit': { inputs: {}, action: 'approve', user: USER },
  'messages.feedback': { rating: 'like', user: USER },
  'conversations.delete': { user: USER },
  'conversations.rename': { name: 'Renamed', user: USER },
  'conversations.update_variable': { value: 'new value', user: USER },
  'audio.from_text': { text: 'Say this', user: USER },
  'annotations.create': { question: 'Q?', answer: 'A.' },
  'annotations.update': { question: 'Q2?', answer: 'A2.' },
  'annotations.reply_toggle': { embedding_provider_name: 'openai', embedding_model_name: 'text-embedding-3-small', score_threshold: 0.8 },
};

const MULTIPART_FILES: Record<string, { name: string; type: string; bytes: Buffer }> = {
  'files.upload': { name: 'notes.txt', type: 'text/plain', bytes: Buffer.from('some notes\n') },
  'audio.to_text': { name: 'voice.mp3', type: 'audio/mp3', bytes: Buffer.from([0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0]) },
};

function requestFor(route: DifyRoute, key: string): { url: string; init: RequestInit } {
  const headers: Record<string, string> = { Authorization: `Bearer ${key}` };
  let body: RequestInit['body'];
  if (route.body === 'json') {
    const json = JSON_BODIES[route.name];
    if (!json) throw new Error(`no test body for ${route.name}`);
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (route.body === 'multipart') {
    const file = MULTIPART_FILES[route.name];
    if (!file) throw new Error(`no test file for ${route.name}`);
    const form = new FormData();
    form.append('file', new Blob([file.bytes], { type: file.type }), file.name);
    form.append('user', USER);
    body = form;
  }
  const query = route.method === 'GET' ? `?user=${USER}${route.name === 'messages.list' ? `&conversation_id=${randomUUID()}` : ''}` : '';
  return { url: `${gw.baseUrl}${concretePath(route)}${query}`, init: { method: route.method, headers, body } };
}

/** The exchanges the simulator served since `from` (an index into the watch's list). */
function simExchangesSince(from: number): ServedExchange[] {
  return traffic.served(gw.sim.port).slice(from);
}

function expectDifyError(body: any, status: number, code: string, message?: string): void {
  expect(body).toEqual({ code, message: message ?? expect.any(String), status, request_id: expect.any(String) });
}

// ------------------------------------------------------------------ every row

// App rows whose path ids are not owner-checked by the gateway. Knowledge-base rows need a dataset
// key and an allow-list (test/e2e/datasets.e2e-spec.ts); rows whose ids the gateway owner-checks
// never forward a random id (test/e2e/isolation*.e2e-spec.ts); scopes of every row, both kinds,
// are also checked in test/e2e/route-access.e2e-spec.ts.
const APP_ROWS = DIFY_ROUTES.filter((route) => route.target !== 'dataset');
const FORWARDED_ROWS = APP_ROWS.filter((route) => !route.owned);
const title = (route: DifyRoute) => [`${route.method} ${route.path} (${route.name}, scope ${route.scope})`, route] as const;
const ROWS = FORWARDED_ROWS.map(title);
/** Rows that show every end user's data also need `app:all-users` (test/e2e/isolation*.e2e-spec.ts). */
const keyFor = (route: DifyRoute) => (route.allUsers ? allUsersKeys.get(route.scope)! : onlyScope.get(route.scope)!);

describe('every route row', () => {
  it('has a test body for each JSON or multipart row', () => {
    for (const route of APP_ROWS) {
      if (route.body === 'json') expect(JSON_BODIES).toHaveProperty([route.name]);
      if (route.body === 'multipart') expect(MULTIPART_FILES).toHaveProperty([route.name]);
    }
  });

  it.each(ROWS)("%s: a key with exactly that scope reaches Dify and gets Dify's status", async (_title, route) => {
    const { url, init } = requestFor(route, keyFor(route));
    const simFrom = gw.sim.requests.length;
    const watchFrom = traffic.served(gw.sim.port).length;

    const res = await fetch(url, init);
    const text = await res.text();

    const upstream = gw.sim.requests.slice(simFrom);
    expect(upstream).toHaveLength(1);
    const expectedPath = `/v1${new URL(url).pathname.slice('/v1'.length)}`;
    expect(upstream[0].method).toBe(route.method);
    expect(upstream[0].path).toBe(expectedPath);
    const exchanges = simExchangesSince(watchFrom);
    expect(exchanges).toHaveLength(1);
    const simStatus = await exchanges[0].finished;
    expect({ route: route.name, status: res.status }).toEqual({ route: route.name, status: simStatus });
    if (res.status >= 400) {
      // Dify's error shape, whatever the simulator had to say about random ids.
      expect(JSON.parse(text)).toEqual({ code: expect.any(String), message: expect.any(String), status: res.status, request_id: expect.any(String) });
    }
  });

  it.each(APP_ROWS.map(title))('%s: a key with every other scope gets 403 and Dify sees nothing', async (_title, route) => {
    const { url, init } = requestFor(route, allButScope.get(route.scope)!);
    const simFrom = gw.sim.requests.length;
    const res = await fetch(url, init);
    expect(res.status).toBe(403);
    const body = await res.json();
    expectDifyError(body, 403, 'forbidden', `This key lacks the '${route.scope}' scope needed for this endpoint.`);
    expect(gw.sim.requests.length).toBe(simFrom);
  });
});

// ------------------------------------------------------------------ body checks

async function postChat(body: string, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.baseUrl}/chat-messages`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${onlyScope.get('chat')}`, 'Content-Type': contentType },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('request bodies are checked before Dify is called', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing user', { inputs: {}, query: 'hi' }, 'Arg user must be provided.'],
    ['empty user', { inputs: {}, query: 'hi', user: '' }, 'Arg user must be provided.'],
    ["response_mode 'fast'", { inputs: {}, query: 'hi', user: USER, response_mode: 'fast' }, "response_mode must be 'blocking' or 'streaming'"],
    ['inputs not an object', { inputs: 'topic=x', query: 'hi', user: USER }, 'inputs must be an object (send {} if none)'],
    ['inputs an array', { inputs: ['x'], query: 'hi', user: USER }, 'inputs must be an object (send {} if none)'],
  ];

  it.each(cases)("%s: 400 invalid_param in Dify's shape, nothing sent", async (_name, body, message) => {
    const from = gw.sim.requests.length;
    const res = await postChat(JSON.stringify(body));
    expect(res.status).toBe(400);
    expectDifyError(res.body, 400, 'invalid_param', message);
    expect(gw.sim.requests.length).toBe(from);
  });

  it('a missing user on a stop endpoint is the same 400, nothing sent', async () => {
    const from = gw.sim.requests.length;
    const res = await fetch(`${gw.baseUrl}/workflows/tasks/${randomUUID()}/stop`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${onlyScope.get('workflow')}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expectDifyError(await res.json(), 400, 'invalid_param', 'Arg user must be provided.');
    expect(gw.sim.requests.length).toBe(from);
  });

  it('a non-JSON content type on a JSON route: 415 unsupported_media_type, nothing sent', async () => {
    const from = gw.sim.requests.length;
    const body = JSON.stringify({ inputs: {}, query: 'hi', user: USER });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await postChat(body, type);
      expect(res.status).toBe(415);
      expectDifyError(res.body, 415, 'unsupported_media_type');
    }
    expect(gw.sim.requests.length).toBe(from);
  });

  it('JSON content types Dify accepts are accepted: charset parameter, upper case', async () => {
    const body = JSON.stringify({ inputs: {}, query: 'hi', user: USER, response_mode: 'blocking' });
    for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
      const res = await postChat(body, type);
      expect({ type, status: res.status }).toEqual({ type, status: 200 });
    }
  });

  // Dify reads these bodies with Flask's request.get_json(), whose is_json also accepts
  // `application/<anything>+json` (werkzeug: mimetype == 'application/json' or
  // mimetype.startswith('application/') and mimetype.endswith('+json')). The simulator does too.
  it('a structured-syntax +json content type is accepted like Dify does, and forwarded', async () => {
    const body = { inputs: {}, query: 'hi', user: USER, response_mode: 'blocking' };
    const from = gw.sim.requests.length;
    const res = await postChat(JSON.stringify(body), 'application/vnd.api+json');
    expect(res.status).toBe(200);
    expect(gw.sim.requests.slice(from).map((r) => r.body)).toEqual([{ ...body, user: namespaced(USER) }]);
  });

  it('a JSON body on a multipart route: 415, nothing sent', async () => {
    const from = gw.sim.requests.length;
    const res = await fetch(`${gw.baseUrl}/files/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${onlyScope.get('files')}`, 'Content-Type': 'application/json' },
      body: '{"user":"x"}',
    });
    expect(res.status).toBe(415);
    expectDifyError(await res.json(), 415, 'unsupported_media_type');
    expect(gw.sim.requests.length).toBe(from);
  });

  it.each([
    ['truncated', '{"inputs": {}, "query": "hi", "user": '],
    ['not JSON at all', 'inputs=x'],
    ['empty', ''],
  ])('malformed JSON (%s): 400 bad_request, nothing sent', async (_name, body) => {
    const from = gw.sim.requests.length;
    const res = await postChat(body);
    expect(res.status).toBe(400);
    expectDifyError(res.body, 400, 'bad_request', 'Invalid JSON payload received or JSON payload is empty.');
    expect(gw.sim.requests.length).toBe(from);
  });

  it('a JSON array instead of an object: 400, nothing sent', async () => {
    const from = gw.sim.requests.length;
    const res = await postChat('[1,2]');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 400 });
    expect(gw.sim.requests.length).toBe(from);
  });

  it('unknown fields pass through to Dify untouched', async () => {
    const from = gw.sim.requests.length;
    const body = { inputs: { topic: 'x' }, query: 'hi', user: USER, response_mode: 'blocking', future_field: { nested: [1, 'two'] } };
    const res = await postChat(JSON.stringify(body));
    expect(res.status).toBe(200);
    const upstream = gw.sim.requests.slice(from);
    expect(upstream).toHaveLength(1);
    expect(upstream[0].body).toEqual({ ...body, user: namespaced(USER) });
  });
});

// ------------------------------------------------------------------ statuses

describe('statuses pass through', () => {
  const auth = (scope: Scope) => ({ Authorization: `Bearer ${onlyScope.get(scope)}` });

  it("201 for a file upload, with Dify's body", async () => {
    const form = new FormData();
    form.append('file', new Blob(['hello upload'], { type: 'text/plain' }), 'hello.txt');
    form.append('user', USER);
    const res = await fetch(`${gw.baseUrl}/files/upload`, { method: 'POST', headers: auth('files'), body: form });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ id: expect.any(String), name: 'hello.txt', size: 12, mime_type: 'text/plain' });
  });

  it('201 for an annotation create, then 200 update and 204 delete with an empty body', async () => {
    const created = await fetch(`${gw.baseUrl}/apps/annotations`, {
      method: 'POST',
      headers: { ...auth('annotations'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ question: 'What is the gateway?', answer: 'A proxy.' }),
    });
    expect(created.status).toBe(201);
    const annotation = (await created.json()) as { id: string };
    expect(annotation).toMatchObject({ id: expect.any(String), question: 'What is the gateway?', answer: 'A proxy.' });

    const updated = await fetch(`${gw.baseUrl}/apps/annotations/${annotation.id}`, {
      method: 'PUT',
      headers: { ...auth('annotations'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ question: 'What is it?', answer: 'A secure proxy.' }),
    });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ id: annotation.id, answer: 'A secure proxy.' });

    const deleted = await fetch(`${gw.baseUrl}/apps/annotations/${annotation.id}`, { method: 'DELETE', headers: auth('annotations') });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
  });

  it('204 with an empty body for a conversation delete (DELETE with a JSON body)', async () => {
    // One team (one key, one namespace) creates and deletes: another key could not see it.
    const team = { Authorization: `Bearer ${allScopesKey}` };
    const created = await fetch(`${gw.baseUrl}/chat-messages`, {
      method: 'POST',
      headers: { ...team, 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'to be deleted', user: USER }),
    });
    expect(created.status).toBe(200);
    const conversationId = ((await created.json()) as { conversation_id: string }).conversation_id;
    const from = gw.sim.requests.length;

    const res = await fetch(`${gw.baseUrl}/conversations/${conversationId}`, {
      method: 'DELETE',
      headers: { ...team, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: USER }),
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('content-type')).toBeNull();
    expect(await res.text()).toBe('');
    const upstream = gw.sim.requests.slice(from);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ method: 'DELETE', path: `/v1/conversations/${conversationId}`, body: { user: namespaced(USER) } });

    // Deleted for real: a second delete is Dify's 404.
    const again = await fetch(`${gw.baseUrl}/conversations/${conversationId}`, {
      method: 'DELETE',
      headers: { ...team, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: USER }),
    });
    expect(again.status).toBe(404);
    expectDifyError(await again.json(), 404, 'not_found', 'Conversation Not Exists.');
  });

  it("Dify's 4xx errors keep their status, code and message", async () => {
    const res = await postChat(JSON.stringify({ inputs: {}, query: 'hi', user: USER, conversation_id: randomUUID() }));
    expect(res.status).toBe(404);
    expectDifyError(res.body, 404, 'not_found', 'Conversation Not Exists.');
  });
});

// ------------------------------------------------------------------ query strings

describe('query strings', () => {
  it.each([
    ['unknown keys and empty values', 'user=q-user&first_id=&limit=5&pinned=true'],
    ['encoded characters, repeated keys and odd order', 'pinned=false&user=a%20b%2Bc&x=1&x=2&sort_by=-created_at&%C3%A9=%E2%9C%93'],
    ['a key without a value', 'user=q-user&pinned'],
  ])('pass through verbatim but for the namespaced user: %s', async (_name, query) => {
    const watchFrom = traffic.served(gw.sim.port).length;
    const res = await fetch(`${gw.baseUrl}/conversations?${query}`, { headers: { Authorization: `Bearer ${onlyScope.get('conversations')}` } });
    await res.arrayBuffer();
    const exchanges = simExchangesSince(watchFrom);
    expect(exchanges).toHaveLength(1);
    const [path, sent] = exchanges[0].url.split('?');
    expect(path).toBe('/v1/conversations');
    const ns = /(?:^|&)user=([0-9a-f]{12})%3A/.exec(sent)?.[1];
    expect(ns).toBeDefined();
    expect(sent).toBe(query.replace(/(^|&)user=/, `$1user=${ns}%3A`));
    expect(res.status).toBe(await exchanges[0].finished);
  });

  it('the recorded query shows unknown keys such as pinned', async () => {
    const from = gw.sim.requests.length;
    const res = await fetch(`${gw.baseUrl}/conversations?user=${USER}&pinned=true&first_id=abc`, {
      headers: { Authorization: `Bearer ${allScopesKey}` },
    });
    expect(res.status).toBe(200);
    expect(gw.sim.requests.slice(from).map((r) => r.query)).toEqual([{ user: namespaced(USER), pinned: 'true', first_id: 'abc' }]);
  });
});
