import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { readSseEvents } from '../../simulator/sse-reader.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const FLOW_KEY = 'app-FLOWflowFLOWflow0123456789';
const SCOPES = ['chat', 'workflow', 'audio'];

interface Team {
  key: string;
}

/** Ids Dify does not scope by user, handed out by the gateway: human-input form tokens and message ids. */
describe('isolation of human-input forms and message ids', () => {
  let gw: TestGateway;
  let dir: string;
  let a: Team;
  let b: Team;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-forms-'));
    writeFileSync(join(dir, 'flow.key'), FLOW_KEY);
    writeFileSync(join(dir, 'apps.json'), JSON.stringify({ apps: { flow: { apiKeyFile: './flow.key' } }, default: 'default' }));
    gw = await startTestGateway({
      simulator: {
        apps: [
          { key: 'app-CANARYdifyKEY0123456789', mode: 'chat' },
          { key: FLOW_KEY, mode: 'workflow' },
        ],
      },
      env: { DIFY_APPS_FILE: join(dir, 'apps.json') },
    });
    a = await gw.createKeyWith({ name: 'team-a', scopes: SCOPES, apps: ['default', 'flow'], namespace: 'team-a' });
    b = await gw.createKeyWith({ name: 'team-b', scopes: SCOPES, apps: ['default', 'flow'], namespace: 'team-b' });
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (team: Team, app = 'default') => ({ Authorization: `Bearer ${team.key}`, 'X-Gateway-App': app });
  const v1 = () => request(gw.baseUrl);
  const formCalls = () => gw.sim.requests.filter((r) => r.path.startsWith('/v1/form/')).length;

  /** Team A's workflow run paused at a human-input node; its form token, as A's stream showed it. */
  async function pausedRun(team: Team): Promise<string> {
    const res = await fetch(`${gw.baseUrl}/workflows/run`, {
      method: 'POST',
      headers: { ...as(team, 'flow'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: { sim_human_input: true }, user: 'alice', response_mode: 'streaming' }),
    });
    expect(res.status).toBe(200);
    const events = await readSseEvents(res.body!);
    const required = events.find((e) => e.data?.event === 'human_input_required');
    const token = (required?.data?.data as { form_token?: string } | undefined)?.form_token;
    expect(typeof token).toBe('string');
    return token!;
  }

  it("another team can neither read nor submit a team's paused form; the owner can", async () => {
    const token = await pausedRun(a);
    const before = formCalls();
    const read = await v1().get(`/form/human_input/${token}`).set(as(b, 'flow'));
    expect(read.status).toBe(404);
    expect(read.body).toMatchObject({ code: 'not_found', status: 404 });
    const submit = await v1()
      .post(`/form/human_input/${token}`)
      .set(as(b, 'flow'))
      .send({ inputs: { comment: 'mine now' }, action: 'approve', user: 'mallory' });
    expect(submit.status).toBe(404);
    expect(formCalls()).toBe(before); // neither reached Dify

    const own = await v1().get(`/form/human_input/${token}`).set(as(a, 'flow'));
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ form_content: expect.any(String) });
    const done = await v1()
      .post(`/form/human_input/${token}`)
      .set(as(a, 'flow'))
      .send({ inputs: { comment: 'ok' }, action: 'approve', user: 'alice' });
    expect(done.status).toBe(200);
  });

  it('answers 404 for a form token the gateway never handed out (fail closed)', async () => {
    const before = formCalls();
    const res = await v1().get('/form/human_input/NeverHandedOut0123456').set(as(a, 'flow'));
    expect(res.status).toBe(404);
    expect(formCalls()).toBe(before);
  });

  it("text-to-audio does not read another team's message (Dify does not check its user)", async () => {
    const chat = await v1().post('/chat-messages').set(as(a)).send({ inputs: {}, query: 'hi', user: 'alice', response_mode: 'blocking' });
    expect(chat.status).toBe(200);
    const messageId = chat.body.message_id as string;
    const foreign = await v1().post('/text-to-audio').set(as(b)).send({ message_id: messageId, user: 'mallory' });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ code: 'not_found', status: 404 });
    const unknown = await v1().post('/text-to-audio').set(as(a)).send({ message_id: '0b6f1c52-2a39-4a53-9d0e-0e2f8d6b7a11', user: 'alice' });
    expect(unknown.status).toBe(404);
    const own = await v1().post('/text-to-audio').set(as(a)).send({ message_id: messageId, user: 'alice' });
    expect(own.status).toBe(200);
    expect(own.headers['content-type']).toBe('audio/wav');
    expect((await v1().post('/text-to-audio').set(as(b)).send({ text: 'hello', user: 'bob' })).status).toBe(200);
  });

  it('records the message id of a streamed chat as the caller’s', async () => {
    const res = await fetch(`${gw.baseUrl}/chat-messages`, {
      method: 'POST',
      headers: { ...as(a), 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'hi', user: 'alice', response_mode: 'streaming' }),
    });
    const events = await readSseEvents(res.body!);
    const messageId = events.find((e) => typeof e.data?.message_id === 'string')?.data?.message_id as string;
    expect((await v1().post('/text-to-audio').set(as(a)).send({ message_id: messageId, user: 'alice' })).status).toBe(200);
    expect((await v1().post('/text-to-audio').set(as(b)).send({ message_id: messageId, user: 'bob' })).status).toBe(404);
  });
});
