/** The remaining §4 endpoints over fetch: files, audio, metadata, conversations, variables, logs, annotations. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startDifySimulator, type DifySimulator } from './dify-simulator.js';

const CHAT = 'app-endpoints00000000000001';
const WORKFLOW = 'app-endflow000000000000001';

let sim: DifySimulator;

beforeAll(async () => {
  sim = await startDifySimulator({
    apps: [
      { key: CHAT, mode: 'chat', name: 'Helpdesk' },
      { key: WORKFLOW, mode: 'workflow' },
    ],
    streamChunkDelayMs: 0,
    answer: 'Sure thing.',
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

async function call(method: string, path: string, body?: unknown, key = CHAT): Promise<{ status: number; json: any; res: Response }> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      ...(body instanceof FormData ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const text = res.headers.get('content-type')?.startsWith('application/json') ? await res.text() : '';
  return { status: res.status, json: text ? JSON.parse(text) : undefined, res };
}

async function newConversation(user: string, query = 'hello'): Promise<{ conversationId: string; messageId: string }> {
  const { json } = await call('POST', '/chat-messages', { inputs: {}, query, user });
  return { conversationId: json.conversation_id, messageId: json.id };
}

function upload(file: Blob | null, filename = 'photo.png', user = 'alice'): Promise<{ status: number; json: any; res: Response }> {
  const form = new FormData();
  if (file) form.append('file', file, filename);
  form.append('user', user);
  return call('POST', '/files/upload', form);
}

describe('files', () => {
  it('previews an upload as raw bytes with its content type, optionally as an attachment', async () => {
    const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const uploaded = await upload(new Blob([bytes], { type: 'image/png' }));
    expect(uploaded.status).toBe(201);

    const inline = await fetch(`${sim.url}/files/${uploaded.json.id}/preview`, { headers: { Authorization: `Bearer ${CHAT}` } });
    expect(inline.headers.get('content-type')).toBe('image/png');
    expect(inline.headers.get('content-disposition')).toBeNull();
    expect(new Uint8Array(await inline.arrayBuffer())).toEqual(bytes);

    const attachment = await fetch(`${sim.url}/files/${uploaded.json.id}/preview?as_attachment=true`, {
      headers: { Authorization: `Bearer ${CHAT}` },
    });
    expect(attachment.headers.get('content-disposition')).toContain('attachment');
  });

  it('answers file_not_found for an unknown file and file_access_denied for another app', async () => {
    const unknown = await call('GET', '/files/00000000-0000-4000-8000-000000000000/preview');
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('file_not_found');

    const uploaded = await upload(new Blob(['x'], { type: 'text/plain' }), 'a.txt');
    const other = await call('GET', `/files/${uploaded.json.id}/preview`, undefined, WORKFLOW);
    expect(other.status).toBe(403);
    expect(other.json.code).toBe('file_access_denied');
  });

  it('rejects more than one file part', async () => {
    const form = new FormData();
    form.append('file', new Blob(['a'], { type: 'text/plain' }), 'a.txt');
    form.append('extra', new Blob(['b'], { type: 'text/plain' }), 'b.txt');
    const res = await call('POST', '/files/upload', form);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ code: 'too_many_files', message: 'Only one file is allowed.', status: 400 });
  });

  it('rejects a file over its category limit with 413', async () => {
    const res = await upload(new Blob([new Uint8Array(10 * 1024 * 1024 + 1)], { type: 'image/png' }));
    expect(res.status).toBe(413);
    expect(res.json.code).toBe('file_too_large');
  });
});

describe('audio', () => {
  it('transcribes an accepted audio type and rejects others', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(16)], { type: 'audio/wav' }), 'a.wav');
    const ok = await call('POST', '/audio-to-text', form);
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ text: expect.any(String) });

    const mpeg = new FormData();
    mpeg.append('file', new Blob([new Uint8Array(16)], { type: 'audio/mpeg' }), 'a.mp3');
    const rejected = await call('POST', '/audio-to-text', mpeg);
    expect(rejected.status).toBe(415);
    expect(rejected.json.code).toBe('unsupported_audio_type');

    const none = await call('POST', '/audio-to-text', new FormData());
    expect(none.json.code).toBe('no_audio_uploaded');
  });

  it('speaks text as audio/wav bytes', async () => {
    const res = await fetch(`${sim.url}/text-to-audio`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${CHAT}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'hello', user: 'alice' }),
    });
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect((await call('POST', '/text-to-audio', { user: 'alice' })).status).toBe(400);
  });
});

describe('app metadata', () => {
  it('serves info, parameters, meta and site', async () => {
    expect((await call('GET', '/info')).json).toMatchObject({ name: 'Helpdesk', mode: 'chat' });
    expect((await call('GET', '/parameters')).json).toMatchObject({ system_parameters: { file_size_limit: 15 } });
    expect((await call('GET', '/meta')).json).toEqual({ tool_icons: {} });
    expect((await call('GET', '/site')).json).toMatchObject({ title: 'Helpdesk' });
  });

  it('serves end users seen through `user`, and 404 end_user_not_found otherwise', async () => {
    const uploaded = await upload(new Blob(['x'], { type: 'text/plain' }), 'a.txt', 'carol');
    const endUser = await call('GET', `/end-users/${uploaded.json.created_by}`);
    expect(endUser.json).toMatchObject({ id: uploaded.json.created_by, session_id: 'carol', type: 'service-api', is_anonymous: false });
    const missing = await call('GET', '/end-users/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('end_user_not_found');
  });
});

describe('conversations', () => {
  it('pages with last_id and has_more, newest updated first', async () => {
    const ids = [];
    for (const q of ['one', 'two', 'three']) ids.push((await newConversation('alice', q)).conversationId);

    const first = await call('GET', '/conversations?user=alice&limit=2');
    expect(first.json).toMatchObject({ limit: 2, has_more: true });
    expect(first.json.data.map((c: { id: string }) => c.id)).toEqual([ids[2], ids[1]]);

    const next = await call('GET', `/conversations?user=alice&limit=2&last_id=${ids[1]}`);
    expect(next.json.has_more).toBe(false);
    expect(next.json.data.map((c: { id: string }) => c.id)).toEqual([ids[0]]);

    const ascending = await call('GET', '/conversations?user=alice&sort_by=created_at');
    expect(ascending.json.data.map((c: { id: string }) => c.id)).toEqual(ids);

    expect((await call('GET', '/conversations?user=alice&sort_by=name')).status).toBe(400);
    expect((await call('GET', '/conversations?user=alice&limit=101')).status).toBe(400);
    const unknownLast = await call('GET', '/conversations?user=alice&last_id=00000000-0000-4000-8000-000000000000');
    expect(unknownLast.status).toBe(404);
  });

  it('requires a JSON body on DELETE and answers 204 with no body', async () => {
    const { conversationId } = await newConversation('alice');
    const noBody = await fetch(`${sim.url}/conversations/${conversationId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${CHAT}` },
    });
    expect(noBody.status).toBe(415);
    const deleted = await call('DELETE', `/conversations/${conversationId}`, { user: 'alice' });
    expect(deleted.status).toBe(204);
    expect(await deleted.res.text()).toBe('');
    expect((await call('DELETE', `/conversations/${conversationId}`, { user: 'alice' })).status).toBe(404);
  });

  it('auto-generates a name from the first message', async () => {
    const { conversationId } = await newConversation('alice', 'Printer on floor 3 is jammed');
    const renamed = await call('POST', `/conversations/${conversationId}/name`, { auto_generate: true, user: 'alice' });
    expect(renamed.json.name).toBe('Printer on floor 3 is jammed');
    const missing = await call('POST', `/conversations/${conversationId}/name`, { user: 'alice' });
    expect(missing.status).toBe(400);
    expect(missing.json.code).toBe('invalid_param');
  });

  it('lists and updates conversation variables, checking the value type', async () => {
    const { conversationId } = await newConversation('alice');
    const listed = await call('GET', `/conversations/${conversationId}/variables?user=alice`);
    const topic = listed.json.data.find((v: { name: string }) => v.name === 'topic');
    expect(topic).toMatchObject({ value_type: 'string', value: '' });

    const updated = await call('PUT', `/conversations/${conversationId}/variables/${topic.id}`, { value: 'printers', user: 'alice' });
    expect(updated.json).toMatchObject({ id: topic.id, value: 'printers' });
    const mismatch = await call('PUT', `/conversations/${conversationId}/variables/${topic.id}`, { value: 3, user: 'alice' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.code).toBe('bad_request');
    const strangers = await call('GET', `/conversations/${conversationId}/variables?user=bob`);
    expect(strangers.status).toBe(404);
  });
});

describe('messages', () => {
  it('suggests questions for the user’s own message only', async () => {
    const { messageId } = await newConversation('alice');
    const ok = await call('GET', `/messages/${messageId}/suggested?user=alice`);
    expect(ok.json).toMatchObject({ result: 'success', data: expect.any(Array) });
    expect((await call('GET', `/messages/${messageId}/suggested?user=bob`)).status).toBe(404);
    expect((await call('GET', `/messages/${messageId}/suggested`)).status).toBe(400);
  });

  it('lists app feedbacks and revokes with rating null', async () => {
    const { messageId } = await newConversation('alice');
    await call('POST', `/messages/${messageId}/feedbacks`, { rating: 'dislike', content: 'wrong', user: 'alice' });
    const listed = await call('GET', '/app/feedbacks');
    expect(listed.json.data).toEqual([expect.objectContaining({ message_id: messageId, rating: 'dislike', content: 'wrong', from_source: 'user' })]);
    expect((await call('POST', `/messages/${messageId}/feedbacks`, { rating: null, user: 'alice' })).status).toBe(200);
    expect((await call('GET', '/app/feedbacks')).json.data).toEqual([]);
    expect((await call('POST', `/messages/${messageId}/feedbacks`, { rating: null, user: 'alice' })).status).toBe(400);
  });

  it('answers 404 for an unknown first_id', async () => {
    const { conversationId } = await newConversation('alice');
    const res = await call('GET', `/messages?user=alice&conversation_id=${conversationId}&first_id=00000000-0000-4000-8000-000000000000`);
    expect(res.status).toBe(404);
    expect(res.json.message).toBe('First Message Not Exists.');
  });
});

describe('workflow logs and runs', () => {
  it('pages logs newest first with total and has_more', async () => {
    for (const user of ['alice', 'bob', 'alice']) await call('POST', '/workflows/run', { inputs: {}, user }, WORKFLOW);
    const page1 = await call('GET', '/workflows/logs?limit=2', undefined, WORKFLOW);
    expect(page1.json).toMatchObject({ page: 1, limit: 2, total: 3, has_more: true });
    const page2 = await call('GET', '/workflows/logs?limit=2&page=2', undefined, WORKFLOW);
    expect(page2.json).toMatchObject({ page: 2, total: 3, has_more: false });
    expect(page2.json.data[0].created_by_end_user).toMatchObject({ session_id: 'alice' });
    const bobs = await call('GET', '/workflows/logs?created_by_end_user_session_id=bob', undefined, WORKFLOW);
    expect(bobs.json.total).toBe(1);
    expect((await call('GET', '/workflows/logs', undefined, CHAT)).json.code).toBe('not_workflow_app');
  });

  it('runs a specific workflow id, 404 for another, 400 for a malformed one', async () => {
    const workflowId = sim.apps[1].workflowId!;
    const ok = await call('POST', `/workflows/${workflowId}/run`, { inputs: {}, user: 'alice' }, WORKFLOW);
    expect(ok.json.data).toMatchObject({ workflow_id: workflowId, status: 'succeeded' });
    const other = await call('POST', '/workflows/00000000-0000-4000-8000-000000000000/run', { inputs: {}, user: 'a' }, WORKFLOW);
    expect(other.status).toBe(404);
    const malformed = await call('POST', '/workflows/draft/run', { inputs: {}, user: 'a' }, WORKFLOW);
    expect(malformed.status).toBe(400);
    expect(malformed.json.code).toBe('bad_request');
    expect((await call('GET', '/workflows/run/00000000-0000-4000-8000-000000000000', undefined, WORKFLOW)).status).toBe(404);
  });
});

describe('annotations', () => {
  it('creates (201), lists page style, updates and deletes (204)', async () => {
    const created = await call('POST', '/apps/annotations', { question: 'Q?', answer: 'A.' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: expect.any(String), question: 'Q?', answer: 'A.', hit_count: 0 });

    const listed = await call('GET', '/apps/annotations?page=1&limit=10');
    expect(listed.json).toMatchObject({ page: 1, limit: 10, total: 1, has_more: false });

    const updated = await call('PUT', `/apps/annotations/${created.json.id}`, { question: 'Q2?', answer: 'A2.' });
    expect(updated.json).toMatchObject({ question: 'Q2?', answer: 'A2.' });

    const deleted = await call('DELETE', `/apps/annotations/${created.json.id}`);
    expect(deleted.status).toBe(204);
    expect((await call('PUT', `/apps/annotations/${created.json.id}`, { question: 'x', answer: 'y' })).status).toBe(404);
    expect((await call('POST', '/apps/annotations', { question: 'only' })).status).toBe(400);
  });

  it('starts annotation reply jobs and reports their status', async () => {
    const body = { embedding_provider_name: 'openai', embedding_model_name: 'text-embedding-3-small', score_threshold: 0.9 };
    const job = await call('POST', '/apps/annotation-reply/enable', body);
    expect(job.json).toEqual({ job_id: expect.any(String), job_status: 'waiting' });
    const status = await call('GET', `/apps/annotation-reply/enable/status/${job.json.job_id}`);
    expect(status.json).toMatchObject({ job_id: job.json.job_id, job_status: 'completed' });
    // §13.4: a job id that is not a uuid never matches (404); an unknown one is 404 not_found; an invalid payload is 422.
    expect((await call('GET', '/apps/annotation-reply/enable/status/nope')).status).toBe(404);
    expect(await call('GET', `/apps/annotation-reply/enable/status/${randomUUID()}`)).toMatchObject({
      status: 404,
      json: { code: 'not_found', message: 'The job does not exist.' },
    });
    expect(await call('POST', '/apps/annotation-reply/enable', {})).toMatchObject({ status: 422, json: { code: 'unprocessable_entity' } });
    expect(
      await call('POST', '/apps/annotation-reply/enable', { embedding_provider_name: 'p', embedding_model_name: 'm', score_threshold: '0.5' }),
    ).toMatchObject({ status: 200 });
  });
});
