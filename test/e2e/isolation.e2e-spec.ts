import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { readSseEvents, type ReceivedSseEvent } from '../../simulator/sse-reader.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const FLOW_KEY = 'app-FLOWflowFLOWflow0123456789';
const ALL_APP_SCOPES = ['chat', 'workflow', 'files', 'conversations', 'feedback', 'audio', 'app:read'];

/** An answer long enough (10 ms a word) that a stream is still running when the test acts on it. */
const SLOW_ANSWER = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

interface Team {
  key: string;
  namespace: string;
}

describe('isolation between two teams on one Dify app', () => {
  let gw: TestGateway;
  let dir: string;
  let a: Team;
  let b: Team;
  let everyone: Team;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-isolation-'));
    writeFileSync(join(dir, 'flow.key'), FLOW_KEY);
    writeFileSync(join(dir, 'apps.json'), JSON.stringify({ apps: { flow: { apiKeyFile: './flow.key' } }, default: 'default' }));
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: 'app-CANARYdifyKEY0123456789', mode: 'chat' },
          { key: FLOW_KEY, mode: 'workflow' },
        ],
        answer: SLOW_ANSWER,
        streamChunkDelayMs: 10,
      },
      env: { DIFY_APPS_FILE: join(dir, 'apps.json') },
    });
    a = await gw.createKeyWith({ name: 'team-a', scopes: ALL_APP_SCOPES, apps: ['default', 'flow'], namespace: 'team-a' });
    b = await gw.createKeyWith({ name: 'team-b', scopes: ALL_APP_SCOPES, apps: ['default', 'flow'], namespace: 'team-b' });
    everyone = await gw.createKeyWith({ name: 'analytics', scopes: [...ALL_APP_SCOPES, 'app:all-users'], apps: ['default', 'flow'] });
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (team: Team, app = 'default') => ({ Authorization: `Bearer ${team.key}`, 'X-Gateway-App': app });
  const v1 = () => request(gw.baseUrl);

  async function chat(team: Team, user: string, extra: Record<string, unknown> = {}) {
    return v1()
      .post('/chat-messages')
      .set(as(team))
      .send({ inputs: {}, query: 'What is the plan?', user, response_mode: 'blocking', ...extra });
  }

  /** Starts a streaming call; resolves with the task id once the first event arrived, and the rest later. */
  async function startStream(team: Team, app: string, path: string, body: Record<string, unknown>) {
    const response = await fetch(`${gw.baseUrl}${path}`, {
      method: 'POST',
      headers: { ...as(team, app), 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...body, response_mode: 'streaming' }),
    });
    expect(response.status).toBe(200);
    let first!: (e: ReceivedSseEvent) => void;
    const firstEvent = new Promise<ReceivedSseEvent>((resolve) => (first = resolve));
    const all = readSseEvents(response.body as unknown as AsyncIterable<Uint8Array>, (e) => e.data && first(e));
    const event = await firstEvent;
    return { taskId: String(event.data!.task_id), runId: event.data!.workflow_run_id as string | undefined, all };
  }

  it('sends every user in its team namespace and shows the caller only its own', async () => {
    const res = await chat(a, 'alice');
    expect(res.status).toBe(200);
    const sent = gw.sim.requests.filter((r) => r.path === '/v1/chat-messages').at(-1);
    expect(sent?.user).toBe('team-a:alice');
    expect(sent?.body).toMatchObject({ inputs: {}, query: 'What is the plan?', user: 'team-a:alice' });

    await chat(b, 'alice');
    expect(gw.sim.requests.filter((r) => r.path === '/v1/chat-messages').at(-1)?.user).toBe('team-b:alice');
  });

  it('keeps conversations and messages apart: list, read, rename, delete, variables, feedback, suggestions', async () => {
    const started = await chat(a, 'alice');
    const conversationId = started.body.conversation_id as string;
    const messageId = started.body.message_id as string;

    const listA = await v1().get('/conversations?user=alice&limit=100').set(as(a));
    expect(listA.status).toBe(200);
    expect(listA.body.data.map((c: { id: string }) => c.id)).toContain(conversationId);
    const listB = await v1().get('/conversations?user=alice&limit=100').set(as(b));
    expect(listB.body.data.map((c: { id: string }) => c.id)).not.toContain(conversationId);

    const before = gw.sim.requests.length;
    const probes = [
      () => v1().get(`/messages?conversation_id=${conversationId}&user=alice`).set(as(b)),
      () => v1().post(`/conversations/${conversationId}/name`).set(as(b)).send({ name: 'stolen', user: 'alice' }),
      () => v1().delete(`/conversations/${conversationId}`).set(as(b)).send({ user: 'alice' }),
      () => v1().get(`/conversations/${conversationId}/variables?user=alice`).set(as(b)),
      () => v1().post(`/messages/${messageId}/feedbacks`).set(as(b)).send({ rating: 'like', user: 'alice' }),
      () => v1().get(`/messages/${messageId}/suggested?user=alice`).set(as(b)),
      () => chat(b, 'alice', { conversation_id: conversationId }),
    ];
    for (const probe of probes) {
      const res = await probe();
      expect(res.status).toBe(404);
    }
    // Dify itself refused them: the namespaced users differ.
    expect(gw.sim.requests.slice(before).every((r) => r.user === 'team-b:alice')).toBe(true);

    // The owner still can do all of it.
    expect((await v1().get(`/messages?conversation_id=${conversationId}&user=alice`).set(as(a))).status).toBe(200);
    expect((await v1().post(`/conversations/${conversationId}/name`).set(as(a)).send({ name: 'mine', user: 'alice' })).body.name).toBe('mine');
    expect((await v1().post(`/messages/${messageId}/feedbacks`).set(as(a)).send({ rating: 'like', user: 'alice' })).status).toBe(200);
    expect((await v1().delete(`/conversations/${conversationId}`).set(as(a)).send({ user: 'alice' })).status).toBe(204);
  });

  it('keeps anonymous callers apart too: no user means the team’s own DEFAULT-USER', async () => {
    const before = gw.sim.requests.length;
    await v1().get('/conversations').set(as(a));
    await v1().get('/conversations').set(as(b));
    expect(gw.sim.requests.slice(before).map((r) => r.query.user)).toEqual(['team-a:DEFAULT-USER', 'team-b:DEFAULT-USER']);
  });

  it('keeps uploads apart: another team can neither preview nor use a file', async () => {
    const upload = await v1()
      .post('/files/upload')
      .set(as(a))
      .field('user', 'alice')
      .attach('file', Buffer.from('secret plan'), { filename: 'plan.txt', contentType: 'text/plain' });
    expect(upload.status).toBe(201);
    const fileId = upload.body.id as string;
    expect(gw.sim.requests.at(-1)?.user).toBe('team-a:alice');

    const before = gw.sim.requests.length;
    const preview = await v1().get(`/files/${fileId}/preview`).set(as(b));
    expect(preview.status).toBe(404);
    expect(preview.body.code).toBe('file_not_found');
    expect(gw.sim.requests.length).toBe(before); // refused by the gateway: Dify does not check users here
    const own = await v1().get(`/files/${fileId}/preview`).set(as(a));
    expect(own.status).toBe(200);
    expect(own.text ?? own.body.toString()).toContain('secret plan');

    const files = [{ type: 'document', transfer_method: 'local_file', upload_file_id: fileId }];
    expect((await chat(b, 'alice', { files })).status).toBe(400);
    expect((await chat(a, 'alice', { files })).status).toBe(200);

    const anonymous = await v1().post('/files/upload').set(as(b)).attach('file', Buffer.from('x'), { filename: 'x.txt', contentType: 'text/plain' });
    expect(anonymous.status).toBe(201);
    expect(gw.sim.requests.at(-1)?.user).toBe('team-b:DEFAULT-USER');
  });

  it('cannot stop another team’s chat task; the owner can', async () => {
    const stream = await startStream(a, 'default', '/chat-messages', { inputs: {}, query: 'long', user: 'alice' });
    const stop = await v1().post(`/chat-messages/${stream.taskId}/stop`).set(as(b)).send({ user: 'alice' });
    expect(stop.body).toEqual({ result: 'success' }); // what Dify says, and it did nothing
    const events = await stream.all;
    const answer = events
      .filter((e) => e.event === 'message')
      .map((e) => e.data!.answer)
      .join('');
    expect(answer).toBe(SLOW_ANSWER);

    const mine = await startStream(a, 'default', '/chat-messages', { inputs: {}, query: 'long', user: 'alice' });
    await v1().post(`/chat-messages/${mine.taskId}/stop`).set(as(a)).send({ user: 'alice' });
    const stopped = (await mine.all)
      .filter((e) => e.event === 'message')
      .map((e) => e.data!.answer)
      .join('');
    expect(stopped.length).toBeLessThan(SLOW_ANSWER.length);
  });

  it('cannot stop another team’s workflow task (Dify does not check users there): the gateway does', async () => {
    const stream = await startStream(a, 'flow', '/workflows/run', { inputs: {}, user: 'alice' });
    const before = gw.sim.requests.length;
    const stop = await v1().post(`/workflows/tasks/${stream.taskId}/stop`).set(as(b, 'flow')).send({ user: 'alice' });
    expect(stop.status).toBe(200);
    expect(stop.body).toEqual({ result: 'success' });
    expect(gw.sim.requests.slice(before).some((r) => r.path.endsWith('/stop'))).toBe(false);
    const events = await stream.all;
    const finished = events.find((e) => e.event === 'workflow_finished');
    expect(finished?.data).toMatchObject({ data: { status: 'succeeded', created_by: { user: 'alice' } } });

    const mine = await startStream(a, 'flow', '/workflows/run', { inputs: {}, user: 'alice' });
    const own = await v1().post(`/workflows/tasks/${mine.taskId}/stop`).set(as(a, 'flow')).send({ user: 'alice' });
    expect(own.status).toBe(200);
    expect(gw.sim.requests.at(-1)?.path).toBe(`/v1/workflows/tasks/${mine.taskId}/stop`);
    const stopped = (await mine.all).find((e) => e.event === 'workflow_finished');
    expect(stopped?.data).toMatchObject({ data: { status: 'stopped' } });
  });

  it('keeps workflow runs, their events, logs and end users apart', async () => {
    const run = await v1().post('/workflows/run').set(as(a, 'flow')).send({ inputs: {}, user: 'alice', response_mode: 'blocking' });
    expect(run.status).toBe(200);
    const runId = run.body.workflow_run_id as string;
    await v1().post('/workflows/run').set(as(b, 'flow')).send({ inputs: {}, user: 'alice', response_mode: 'blocking' });

    expect((await v1().get(`/workflows/run/${runId}`).set(as(b, 'flow'))).status).toBe(404);
    expect((await v1().get(`/workflows/run/${runId}`).set(as(a, 'flow'))).status).toBe(200);
    expect((await v1().get(`/workflows/run/${runId}`).set(as(everyone, 'flow'))).status).toBe(200);
    const events = await v1().get(`/workflow/${runId}/events?user=alice`).set(as(b, 'flow'));
    expect(events.status).toBe(404);

    const unfiltered = await v1().get('/workflows/logs').set(as(a, 'flow'));
    expect(unfiltered.status).toBe(403);
    expect(unfiltered.body.message).toContain('app:all-users');
    const logsA = await v1().get('/workflows/logs?created_by_end_user_session_id=alice&limit=100').set(as(a, 'flow'));
    expect(logsA.status).toBe(200);
    expect(logsA.body.data.length).toBeGreaterThan(0);
    for (const entry of logsA.body.data) expect(entry.created_by_end_user.session_id).toBe('alice');
    const ids = new Set(logsA.body.data.map((e: { id: string }) => e.id));
    expect(ids.has(runId)).toBe(true);

    const all = await v1().get('/workflows/logs?limit=100').set(as(everyone, 'flow'));
    expect(all.status).toBe(200);
    const sessions = new Set(all.body.data.map((e: { created_by_end_user: { session_id: string } }) => e.created_by_end_user.session_id));
    expect(sessions).toEqual(new Set(['team-a:alice', 'team-b:alice']));

    const endUserId = logsA.body.data[0].created_by_end_user.id as string;
    const mine = await v1().get(`/end-users/${endUserId}`).set(as(a, 'flow'));
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ session_id: 'alice', external_user_id: 'alice' });
    const theirs = await v1().get(`/end-users/${endUserId}`).set(as(b, 'flow'));
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('end_user_not_found');
  });

  it('shows the app-wide feedback list only to keys that may see every end user', async () => {
    expect((await v1().get('/app/feedbacks').set(as(a))).status).toBe(403);
    expect((await v1().get('/app/feedbacks').set(as(everyone))).status).toBe(200);
  });

  it('keeps the 255-character limit of Dify: a team’s user is shorter by its namespace', async () => {
    const max = 255 - 'team-a:'.length;
    expect((await chat(a, 'u'.repeat(max))).status).toBe(200);
    const tooLong = await chat(a, 'u'.repeat(max + 1));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toContain(`at most ${max} characters`);
  });

  it('leaves every other field of a JSON body as the caller wrote it', async () => {
    const body =
      '{"inputs":{"n":1.50,"big":12345678901234567890,"user":"nested"},"query":"h\\u00e9","user":"alice","response_mode":"blocking","extra_field":[1,2]}';
    const res = await v1().post('/chat-messages').set(as(a)).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(200);
    const sent = gw.sim.requests.filter((r) => r.path === '/v1/chat-messages').at(-1);
    expect(sent?.body).toEqual({
      inputs: { n: 1.5, big: 1.2345678901234567e19, user: 'nested' },
      query: 'hé',
      user: 'team-a:alice',
      response_mode: 'blocking',
      extra_field: [1, 2],
    });
  });

  it('refuses a multipart body that could hide a user from the gateway', async () => {
    const boundary = 'b0undary';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nx\n--${boundary}\nContent-Disposition: form-data; name="user"\n\nteam-b:alice\r\n--${boundary}--\r\n`;
    const res = await v1().post('/files/upload').set(as(a)).set('Content-Type', `multipart/form-data; boundary=${boundary}`).send(body);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('The multipart body was refused');
  });

  it('answers 400 to a refused upload even when most of it is still to come', async () => {
    const boundary = 'b1';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="user"\nX-Hidden: yes\r\n\r\nalice\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`,
      ),
      Buffer.alloc(8 * 1024 * 1024, 'a'),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    // Connection: close is the hard case: Node closes the socket right after the answer.
    for (const connection of ['close', 'keep-alive']) {
      const res = await v1()
        .post('/files/upload')
        .set(as(a))
        .set('Connection', connection)
        .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('bare CR or LF');
    }
  });
});
