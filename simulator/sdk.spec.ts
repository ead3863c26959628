/** The official `dify-client` SDK (2.3.2) against the simulator: it should not tell the difference. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ChatClient, CompletionClient, DifyClient } from 'dify-client';
import type { Readable } from 'node:stream';
import { startDifySimulator, type DifySimulator } from './dify-simulator.js';
import { readSseEvents } from './sse-reader.js';

const CHAT_KEY = 'app-sdkchat00000000000000001';
const COMPLETION_KEY = 'app-sdkcomp00000000000000001';
const WORKFLOW_KEY = 'app-sdkflow00000000000000001';
const ANSWER = 'One two three four.';

let sim: DifySimulator;
let chat: ChatClient;

beforeAll(async () => {
  sim = await startDifySimulator({
    apps: [
      { key: CHAT_KEY, mode: 'chat' },
      { key: COMPLETION_KEY, mode: 'completion' },
      { key: WORKFLOW_KEY, mode: 'workflow' },
    ],
    streamChunkDelayMs: 1,
    answer: ANSWER,
  });
  chat = new ChatClient(CHAT_KEY, sim.url);
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

/** The axios error's response, for calls expected to fail. */
async function failure(call: Promise<unknown>): Promise<{ status: number; data: any; headers: any }> {
  try {
    await call;
  } catch (err) {
    const response = (err as { response?: { status: number; data: unknown; headers: unknown } }).response;
    if (response) return response as { status: number; data: any; headers: any };
    throw err;
  }
  throw new Error('the call was expected to fail');
}

describe('ChatClient', () => {
  it('creates a blocking chat message with usage metadata', async () => {
    const res = await chat.createChatMessage({}, 'Hello?', 'alice');
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({
      event: 'message',
      task_id: expect.any(String),
      id: expect.any(String),
      message_id: res.data.id,
      conversation_id: expect.any(String),
      mode: 'chat',
      answer: ANSWER,
      created_at: expect.any(Number),
    });
    const usage = res.data.metadata.usage;
    expect(usage).toMatchObject({ currency: 'USD', latency: expect.any(Number) });
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(typeof usage.total_price).toBe('string');
  });

  it('streams message events then message_end as SSE', async () => {
    const res = await chat.createChatMessage({}, 'Stream please', 'alice', true);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const events = await readSseEvents(res.data as Readable);
    const names = events.map((e) => e.event);
    expect(names).toEqual(['message', 'message', 'message', 'message', 'message_end']);
    expect(events.map((e) => e.data?.answer ?? '').join('')).toBe(ANSWER);
    const first = events[0].data!;
    for (const event of events) {
      expect(event.data).toMatchObject({
        task_id: first.task_id,
        conversation_id: first.conversation_id,
        message_id: first.message_id,
        created_at: first.created_at,
      });
    }
    expect(events.at(-1)!.data!.metadata).toMatchObject({ usage: { total_tokens: expect.any(Number) } });
  });

  it('continues a conversation and lists its messages oldest first', async () => {
    const first = await chat.createChatMessage({}, 'first question', 'alice');
    const conversationId = first.data.conversation_id;
    const second = await chat.createChatMessage({}, 'second question', 'alice', false, conversationId);
    expect(second.data.conversation_id).toBe(conversationId);

    const messages = await chat.getConversationMessages('alice', conversationId);
    expect(messages.data.has_more).toBe(false);
    expect(messages.data.data.map((m: { query: string }) => m.query)).toEqual(['first question', 'second question']);
    expect(messages.data.data[1]).toMatchObject({ parent_message_id: first.data.id, answer: ANSWER, feedback: null });
  });

  it('pages messages backwards with first_id and limit+1 has_more', async () => {
    const first = await chat.createChatMessage({}, 'q1', 'alice');
    const conversationId = first.data.conversation_id;
    for (const q of ['q2', 'q3']) await chat.createChatMessage({}, q, 'alice', false, conversationId);

    const latest = await chat.getConversationMessages('alice', conversationId, null, 2);
    expect(latest.data).toMatchObject({ limit: 2, has_more: true });
    expect(latest.data.data.map((m: { query: string }) => m.query)).toEqual(['q2', 'q3']);

    const older = await chat.getConversationMessages('alice', conversationId, latest.data.data[0].id, 2);
    expect(older.data.has_more).toBe(false);
    expect(older.data.data.map((m: { query: string }) => m.query)).toEqual(['q1']);
  });

  it('lists, renames and deletes conversations', async () => {
    const a = await chat.createChatMessage({}, 'about apples', 'alice');
    const b = await chat.createChatMessage({}, 'about bananas', 'alice');

    const listed = await chat.getConversations('alice');
    expect(listed.data.has_more).toBe(false);
    expect(listed.data.data.map((c: { id: string }) => c.id)).toEqual([b.data.conversation_id, a.data.conversation_id]);
    expect(sim.requests.at(-1)!.query).toMatchObject({ user: 'alice' });

    const renamed = await chat.renameConversation(a.data.conversation_id, 'Fruit', 'alice');
    expect(renamed.data).toMatchObject({ id: a.data.conversation_id, name: 'Fruit', status: 'normal' });

    const deleted = await chat.deleteConversation(a.data.conversation_id, 'alice');
    expect(deleted.status).toBe(204);
    expect(deleted.data).toBe('');
    const after = await chat.getConversations('alice');
    expect(after.data.data.map((c: { id: string }) => c.id)).toEqual([b.data.conversation_id]);
  });

  it('keeps users apart: conversations, messages and deletes', async () => {
    const mine = await chat.createChatMessage({}, 'secret', 'alice');
    const conversationId = mine.data.conversation_id;

    expect((await chat.getConversations('mallory')).data.data).toEqual([]);
    const read = await failure(chat.getConversationMessages('mallory', conversationId));
    expect(read.status).toBe(404);
    expect(read.data).toEqual({ code: 'not_found', message: 'Conversation Not Exists.', status: 404 });
    const post = await failure(chat.createChatMessage({}, 'hi', 'mallory', false, conversationId));
    expect(post.status).toBe(404);
    expect((await failure(chat.deleteConversation(conversationId, 'mallory'))).status).toBe(404);

    expect((await chat.getConversations('alice')).data.data).toHaveLength(1);
  });

  it('records feedback on a message', async () => {
    const res = await chat.createChatMessage({}, 'rate me', 'alice');
    const feedback = await chat.messageFeedback(res.data.id, 'like' as unknown as number, 'alice');
    expect(feedback.data).toEqual({ result: 'success' });
    const messages = await chat.getConversationMessages('alice', res.data.conversation_id);
    expect(messages.data.data[0].feedback).toEqual({ rating: 'like' });
    expect((await failure(chat.messageFeedback(res.data.id, 'like' as unknown as number, 'bob'))).status).toBe(404);
  });

  it('uploads a file with FormData and a Blob, then uses it in a chat message', async () => {
    const form = new FormData();
    form.append('file', new Blob(['hello file'], { type: 'text/plain' }), 'notes.txt');
    form.append('user', 'alice');
    const uploaded = await chat.fileUpload(form);
    expect(uploaded.status).toBe(201);
    expect(uploaded.data).toMatchObject({
      id: expect.any(String),
      name: 'notes.txt',
      size: 10,
      extension: 'txt',
      mime_type: 'text/plain',
      created_by: expect.any(String),
    });
    expect(sim.requests.at(-1)!.body).toMatchObject({
      fields: { user: 'alice' },
      file: { name: 'notes.txt', size: 10, mimeType: 'text/plain' },
    });

    const file = { type: 'document', transfer_method: 'local_file', upload_file_id: uploaded.data.id };
    const ok = await chat.createChatMessage({}, 'read it', 'alice', false, null, [file] as never);
    expect(ok.status).toBe(200);
    const other = await failure(chat.createChatMessage({}, 'read it', 'bob', false, null, [file] as never));
    expect(other.status).toBe(400);
    expect(other.data.code).toBe('invalid_param');
  });

  it('rejects an upload without a file part', async () => {
    const form = new FormData();
    form.append('user', 'alice');
    const res = await failure(chat.fileUpload(form));
    expect(res.status).toBe(400);
    expect(res.data).toEqual({ code: 'no_file_uploaded', message: 'Please upload your file.', status: 400 });
  });

  it('reads the application parameters', async () => {
    const res = await chat.getApplicationParameters('alice');
    expect(res.data).toMatchObject({ user_input_form: expect.any(Array), file_upload: expect.any(Object) });
  });

  it('surfaces 401 as an axios error with the Dify envelope', async () => {
    const res = await failure(new ChatClient('app-wrong000000000000000000', sim.url).getConversations('alice'));
    expect(res.status).toBe(401);
    expect(res.data).toEqual({ code: 'unauthorized', message: 'Access token is invalid', status: 401 });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
  });
});

describe('CompletionClient', () => {
  const completion = () => new CompletionClient(COMPLETION_KEY, sim.url);

  it('creates blocking and streaming completion messages', async () => {
    const blocking = await completion().createCompletionMessage({ topic: 'x' }, 'alice');
    expect(blocking.data).toMatchObject({ event: 'message', mode: 'completion', answer: ANSWER });
    expect(blocking.data.conversation_id).toBeUndefined();

    const streamed = await completion().createCompletionMessage({ topic: 'x' }, 'alice', true);
    const events = await readSseEvents(streamed.data as Readable);
    expect(events.at(-1)!.event).toBe('message_end');
    expect(events.every((e) => e.data!.message_id && e.data!.task_id && !('conversation_id' in e.data!))).toBe(true);
  });

  it('runs a workflow, blocking and streaming', async () => {
    // runWorkflow exists in the SDK's index.js but not in its index.d.ts.
    const client = new CompletionClient(WORKFLOW_KEY, sim.url) as CompletionClient & {
      runWorkflow(inputs: object, user: string, stream?: boolean): Promise<any>;
    };
    const blocking = await client.runWorkflow({ topic: 'x' }, 'alice');
    expect(blocking.data).toMatchObject({
      task_id: expect.any(String),
      workflow_run_id: expect.any(String),
      data: { status: 'succeeded', outputs: { answer: ANSWER }, total_tokens: expect.any(Number) },
    });

    const streamed = await client.runWorkflow({ topic: 'x' }, 'alice', true);
    const events = await readSseEvents(streamed.data as Readable);
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['workflow_started', 'node_started', 'node_finished']);
    expect(names.filter((n) => n === 'text_chunk')).toHaveLength(4);
    expect(names.at(-1)).toBe('workflow_finished');
    expect(events.at(-1)!.data!.data).toMatchObject({ status: 'succeeded', total_tokens: expect.any(Number) });
    const runId = events[0].data!.workflow_run_id;
    expect(events.every((e) => e.data!.workflow_run_id === runId && e.data!.task_id)).toBe(true);
  });
});

describe('DifyClient.sendRequest', () => {
  it('reaches endpoints the SDK has no method for, such as the stop endpoint', async () => {
    const client = new DifyClient(CHAT_KEY, sim.url);
    const res = await client.sendRequest('POST', '/chat-messages/some-task/stop', { user: 'alice' });
    expect(res.data).toEqual({ result: 'success' });
  });
});
