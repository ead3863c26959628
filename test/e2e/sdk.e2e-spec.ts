/**
 * The official `dify-client` SDK (2.3.2), unchanged, pointed at the gateway instead of Dify:
 * `new ChatClient(gatewayKey, gw.baseUrl)`. Three simulator apps (chat, completion, workflow) sit
 * behind three gateway app aliases; every call must reach the simulator with the Dify key of the
 * bound app, never with the caller's gateway key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChatClient, CompletionClient } from 'dify-client';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { RecordedRequest } from '../../simulator/dify-simulator.js';
import { CANARY_DIFY_KEY, startTestGateway, type TestGateway } from '../support/test-gateway.js';

const COMPLETION_DIFY_KEY = 'app-SDKcompletionKEY000000001';
const WORKFLOW_DIFY_KEY = 'app-SDKworkflowKEY00000000001';
const ANSWER = 'Alpha beta gamma delta.';
/** Dify sees the end user in the calling key's namespace (src/isolation): `<namespace>:<user>`. */
const namespaced = (user: string) => expect.stringMatching(new RegExp(`^[0-9a-f]{12}:${user}$`));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let gw: TestGateway;
let appsDir: string;
let chatKey: string;
let completionKey: string;
let workflowKey: string;
let chat: ChatClient;

beforeAll(async () => {
  appsDir = await mkdtemp(path.join(os.tmpdir(), 'gw-sdk-apps-'));
  const appsFile = path.join(appsDir, 'apps.json');
  await writeFile(
    appsFile,
    JSON.stringify({
      apps: {
        completion: { apiKeyEnv: 'SDK_E2E_COMPLETION_KEY' },
        workflow: { apiKeyEnv: 'SDK_E2E_WORKFLOW_KEY' },
      },
    }),
  );
  gw = await startTestGateway({
    simulator: {
      apps: [
        { key: CANARY_DIFY_KEY, mode: 'chat' },
        { key: COMPLETION_DIFY_KEY, mode: 'completion' },
        { key: WORKFLOW_DIFY_KEY, mode: 'workflow' },
      ],
      answer: ANSWER,
      streamChunkDelayMs: 1,
    },
    env: {
      DIFY_APPS_FILE: appsFile,
      SDK_E2E_COMPLETION_KEY: COMPLETION_DIFY_KEY,
      SDK_E2E_WORKFLOW_KEY: WORKFLOW_DIFY_KEY,
    },
  });
  chatKey = (await gw.createKey(['chat', 'files', 'conversations', 'feedback'], 'sdk-chat-team')).key;
  completionKey = (await gw.createKey(['chat'], 'sdk-completion-team', 'completion')).key;
  workflowKey = (await gw.createKey(['workflow'], 'sdk-workflow-team', 'workflow')).key;
  chat = new ChatClient(chatKey, gw.baseUrl);
});

afterAll(async () => {
  await gw?.close();
  if (appsDir) await rm(appsDir, { recursive: true, force: true });
});

/** The simulator requests made since `from` (an index into `sim.requests`). */
function since(from: number): RecordedRequest[] {
  return gw.sim.requests.slice(from);
}

/** Every upstream request carried a Dify key as Bearer and no trace of any gateway key. */
function expectOnlyDifyKeys(requests: RecordedRequest[], difyKey: string): void {
  expect(requests.length).toBeGreaterThan(0);
  for (const r of requests) {
    expect(r.headers.authorization).toBe(`Bearer ${difyKey}`);
    expect(r.appKey).toBe(difyKey);
    const seen = JSON.stringify({ headers: r.headers, body: r.body, query: r.query });
    for (const gatewayKey of [chatKey, completionKey, workflowKey]) expect(seen).not.toContain(gatewayKey);
    expect(seen).not.toContain('dgw_');
  }
}

/** SSE `data:` lines of a Node Readable, parsed; bare `event:` lines (pings) are skipped. */
async function readDataEvents(stream: Readable): Promise<Array<Record<string, any>>> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)) as Record<string, any>);
}

/** The axios error response of a call that must fail. */
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

describe('ChatClient through the gateway', () => {
  it('blocking chat: answer and conversation id, Dify key upstream', async () => {
    const from = gw.sim.requests.length;
    const res = await chat.createChatMessage({}, 'Hello?', 'alice');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.data).toMatchObject({ event: 'message', mode: 'chat', answer: ANSWER });
    expect(res.data.conversation_id).toMatch(UUID);
    expect(res.data.message_id).toMatch(UUID);

    const upstream = since(from);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ method: 'POST', path: '/v1/chat-messages', user: namespaced('alice') });
    // The SDK's own body, unchanged (files: null included).
    expect(upstream[0].body).toEqual({ inputs: {}, query: 'Hello?', user: namespaced('alice'), response_mode: 'blocking', files: null });
    expectOnlyDifyKeys(upstream, CANARY_DIFY_KEY);
  });

  it('continues a conversation: the second answer keeps the conversation id', async () => {
    const first = await chat.createChatMessage({}, 'first', 'carol');
    const second = await chat.createChatMessage({}, 'second', 'carol', false, first.data.conversation_id);
    expect(second.status).toBe(200);
    expect(second.data.conversation_id).toBe(first.data.conversation_id);
    expect(second.data.answer).toBe(ANSWER);
  });

  it('streamed chat: raw SSE with message events then message_end', async () => {
    const from = gw.sim.requests.length;
    const res = await chat.createChatMessage({}, 'Stream please', 'alice', true);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = await readDataEvents(res.data as Readable);
    const names = events.map((e) => e.event);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(names.at(-1)).toBe('message_end');
    expect(names.slice(0, -1).every((n) => n === 'message')).toBe(true);
    expect(
      events
        .filter((e) => e.event === 'message')
        .map((e) => e.answer)
        .join(''),
    ).toBe(ANSWER);
    const conversationId = events[0].conversation_id;
    expect(conversationId).toMatch(UUID);
    for (const e of events) expect(e.conversation_id).toBe(conversationId);
    expect(events.at(-1)!.metadata.usage.total_tokens).toEqual(expect.any(Number));

    const upstream = since(from);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ method: 'POST', path: '/v1/chat-messages' });
    expect((upstream[0].body as { response_mode: string }).response_mode).toBe('streaming');
    expectOnlyDifyKeys(upstream, CANARY_DIFY_KEY);
  });

  it('file upload: 201 with an id, and the multipart file arrives byte for byte', async () => {
    // Random bytes plus sequences that would break a naive multipart re-encoder.
    const bytes = Buffer.concat([randomBytes(20_000), Buffer.from('\r\n--boundary\r\n\r\n--'), randomBytes(3_000), Buffer.from([0, 0xff, 0x0d, 0x0a])]);
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'image/png' }), 'pixel art.png');
    form.append('user', 'alice');
    const from = gw.sim.requests.length;

    const res = await chat.fileUpload(form);
    expect(res.status).toBe(201);
    expect(res.data).toMatchObject({ name: 'pixel art.png', size: bytes.length, extension: 'png', mime_type: 'image/png' });
    expect(res.data.id).toMatch(UUID);

    const upstream = since(from);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ method: 'POST', path: '/v1/files/upload', user: namespaced('alice') });
    expect(String(upstream[0].headers['content-type'])).toMatch(/^multipart\/form-data; *boundary=/);
    const body = upstream[0].body as { fields: Record<string, string>; file: { name: string; size: number; mimeType: string } };
    expect(body.fields).toEqual({ user: namespaced('alice') });
    expect(body.file).toEqual({ name: 'pixel art.png', size: bytes.length, mimeType: 'image/png' });
    expectOnlyDifyKeys(upstream, CANARY_DIFY_KEY);

    // Read the stored file back through the gateway: the very same bytes.
    const preview = await fetch(`${gw.baseUrl}/files/${res.data.id}/preview`, { headers: { Authorization: `Bearer ${chatKey}` } });
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await preview.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('lists conversations (first_id, limit and pinned reach Dify as sent)', async () => {
    const a = await chat.createChatMessage({}, 'about apples', 'dave');
    const b = await chat.createChatMessage({}, 'about bananas', 'dave');
    const from = gw.sim.requests.length;

    const listed = await chat.getConversations('dave', null, 10, true);
    expect(listed.status).toBe(200);
    expect(listed.data).toMatchObject({ limit: 10, has_more: false });
    expect(listed.data.data.map((c: { id: string }) => c.id)).toEqual([b.data.conversation_id, a.data.conversation_id]);

    const upstream = since(from);
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ method: 'GET', path: '/v1/conversations' });
    expect(upstream[0].query).toEqual({ user: namespaced('dave'), limit: '10', pinned: 'true' });
    expectOnlyDifyKeys(upstream, CANARY_DIFY_KEY);
  });

  it('messages, rename and delete through SDK methods', async () => {
    const first = await chat.createChatMessage({}, 'q1', 'erin');
    const conversationId: string = first.data.conversation_id;
    await chat.createChatMessage({}, 'q2', 'erin', false, conversationId);
    const from = gw.sim.requests.length;

    const messages = await chat.getConversationMessages('erin', conversationId);
    expect(messages.status).toBe(200);
    expect(messages.data.has_more).toBe(false);
    expect(messages.data.data.map((m: { query: string }) => m.query)).toEqual(['q1', 'q2']);
    expect(messages.data.data.every((m: { answer: string }) => m.answer === ANSWER)).toBe(true);

    const renamed = await chat.renameConversation(conversationId, 'Renamed by SDK', 'erin');
    expect(renamed.status).toBe(200);
    expect(renamed.data).toMatchObject({ id: conversationId, name: 'Renamed by SDK' });

    const feedback = await chat.messageFeedback(first.data.message_id, 'like' as unknown as number, 'erin');
    expect(feedback.status).toBe(200);
    expect(feedback.data).toEqual({ result: 'success' });

    const deleted = await chat.deleteConversation(conversationId, 'erin');
    expect(deleted.status).toBe(204);
    expect(deleted.data).toBe('');

    const gone = await failure(chat.getConversationMessages('erin', conversationId));
    expect(gone.status).toBe(404);
    expect(gone.data).toMatchObject({ code: 'not_found', message: 'Conversation Not Exists.', status: 404 });

    const upstream = since(from);
    expect(upstream.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/messages',
      `POST /v1/conversations/${conversationId}/name`,
      `POST /v1/messages/${first.data.message_id}/feedbacks`,
      `DELETE /v1/conversations/${conversationId}`,
      'GET /v1/messages',
    ]);
    expect(upstream[3].body).toEqual({ user: namespaced('erin') });
    expectOnlyDifyKeys(upstream, CANARY_DIFY_KEY);
  });

  it('a missing scope is a 403 the SDK surfaces as an axios error, and nothing reaches Dify', async () => {
    const readOnly = new ChatClient((await gw.createKey(['app:read'], 'sdk-readonly')).key, gw.baseUrl);
    const from = gw.sim.requests.length;
    const res = await failure(readOnly.createChatMessage({}, 'Hello?', 'alice'));
    expect(res.status).toBe(403);
    expect(res.data).toMatchObject({ code: 'forbidden', status: 403 });
    expect(res.data.message).toContain("'chat'");
    expect(since(from)).toHaveLength(0);

    const params = await readOnly.getApplicationParameters('alice');
    expect(params.status).toBe(200);
    expect(params.data.user_input_form).toEqual(expect.any(Array));
  });
});

describe('CompletionClient through the gateway', () => {
  it('completion (blocking and streamed) goes to the completion app with its Dify key', async () => {
    const completion = new CompletionClient(completionKey, gw.baseUrl);
    const from = gw.sim.requests.length;

    const res = await completion.createCompletionMessage({ topic: 'sdk' }, 'frank');
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({ event: 'message', mode: 'completion', answer: ANSWER });
    expect(res.data.conversation_id).toBeUndefined();

    const streamed = await completion.createCompletionMessage({ topic: 'sdk' }, 'frank', true);
    expect(streamed.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = await readDataEvents(streamed.data as Readable);
    expect(events.at(-1)!.event).toBe('message_end');
    expect(
      events
        .filter((e) => e.event === 'message')
        .map((e) => e.answer)
        .join(''),
    ).toBe(ANSWER);

    const upstream = since(from);
    expect(upstream.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/completion-messages', 'POST /v1/completion-messages']);
    expect(upstream[0].body).toEqual({ inputs: { topic: 'sdk' }, user: namespaced('frank'), response_mode: 'blocking', files: null });
    expectOnlyDifyKeys(upstream, COMPLETION_DIFY_KEY);
  });

  it('workflow run (blocking and streamed) goes to the workflow app with its Dify key', async () => {
    // runWorkflow exists in dify-client 2.3.2's index.js but not in its index.d.ts.
    const workflow = new CompletionClient(workflowKey, gw.baseUrl) as CompletionClient & {
      runWorkflow(inputs: Record<string, unknown>, user: string, stream?: boolean): ReturnType<CompletionClient['createCompletionMessage']>;
    };
    const from = gw.sim.requests.length;

    const res = await workflow.runWorkflow({ topic: 'sdk' }, 'grace');
    expect(res.status).toBe(200);
    expect(res.data.workflow_run_id).toMatch(UUID);
    expect(res.data.data).toMatchObject({ id: res.data.workflow_run_id, status: 'succeeded' });

    const streamed = await workflow.runWorkflow({ topic: 'sdk' }, 'grace', true);
    expect(streamed.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = await readDataEvents(streamed.data as Readable);
    expect(events[0].event).toBe('workflow_started');
    expect(events.at(-1)).toMatchObject({ event: 'workflow_finished', data: { status: 'succeeded' } });

    const upstream = since(from);
    expect(upstream.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/workflows/run', 'POST /v1/workflows/run']);
    expectOnlyDifyKeys(upstream, WORKFLOW_DIFY_KEY);
  });

  it('a key bound to the completion app cannot reach the chat app, even with the chat scope', async () => {
    const completionAsChat = new ChatClient(completionKey, gw.baseUrl);
    const from = gw.sim.requests.length;
    const res = await failure(completionAsChat.createChatMessage({}, 'hi', 'frank'));
    // Forwarded to the completion app, which refuses chat: Dify's own mode error.
    expect(res.status).toBe(400);
    expect(res.data).toMatchObject({ code: 'not_chat_app', status: 400 });
    expectOnlyDifyKeys(since(from), COMPLETION_DIFY_KEY);
  });
});

describe('keys seen by Dify over the whole file', () => {
  it('every upstream request carried the bound app Dify key as Bearer, never a gateway key', () => {
    const byKey = new Map<string, number>();
    for (const r of gw.sim.requests) byKey.set(String(r.appKey), (byKey.get(String(r.appKey)) ?? 0) + 1);
    expect([...byKey.keys()].sort()).toEqual([CANARY_DIFY_KEY, COMPLETION_DIFY_KEY, WORKFLOW_DIFY_KEY].sort());
    for (const key of [CANARY_DIFY_KEY, COMPLETION_DIFY_KEY, WORKFLOW_DIFY_KEY]) {
      expectOnlyDifyKeys(
        gw.sim.requests.filter((r) => r.appKey === key),
        key,
      );
    }
  });
});
