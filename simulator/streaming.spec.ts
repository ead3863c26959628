/** SSE behaviour: pings, stops, the concurrency limit, chatflow/agent event order, run events and human input. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startDifySimulator, type DifySimulator } from './dify-simulator.js';
import { readSseEvents, type ReceivedSseEvent } from './sse-reader.js';

/** A JSON response body, loosely typed for assertions. */
const body = (res: Response): Promise<any> => res.json();

const CHAT = 'app-stream00000000000000001';
const CHATFLOW = 'app-chatflow000000000000001';
const AGENT = 'app-agent000000000000000001';
const WORKFLOW = 'app-workflow000000000000001';
const COMPLETION = 'app-complete000000000000001';

let sim: DifySimulator;

beforeAll(async () => {
  sim = await startDifySimulator({
    apps: [
      { key: CHAT, mode: 'chat' },
      { key: CHATFLOW, mode: 'advanced-chat' },
      { key: AGENT, mode: 'agent-chat' },
      { key: WORKFLOW, mode: 'workflow' },
      { key: COMPLETION, mode: 'completion' },
    ],
    streamChunkDelayMs: 5,
    answer: 'alpha beta gamma',
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

function post(path: string, key: string, body: Record<string, unknown>) {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const streamChat = (key: string, extra: Record<string, unknown> = {}) =>
  post('/chat-messages', key, { inputs: {}, query: 'hi', user: 'alice', response_mode: 'streaming', ...extra });

const names = (events: ReceivedSseEvent[]) => events.map((e) => e.event);

describe('framing', () => {
  it('writes data: {json} frames and bare event: ping lines when idle', async () => {
    const slow = await startDifySimulator({ pingIntervalMs: 10, streamChunkDelayMs: 60, answer: 'one two' });
    try {
      const res = await fetch(`${slow.url}/chat-messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${slow.apps[0].key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ inputs: {}, query: 'q', user: 'u', response_mode: 'streaming' }),
      });
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const text = await res.text();
      expect(text).toMatch(/^(event: ping\n\n)+data: \{"event":"message"/);
      const frames = text.split('\n\n').filter(Boolean);
      for (const frame of frames) expect(frame).toMatch(/^(event: ping|data: \{.*\})$/);
      expect(frames.at(-1)).toMatch(/^data: \{"event":"message_end"/);
    } finally {
      await slow.close();
    }
  });
});

describe('with slow streams', () => {
  // 10 words at 40 ms each: a stream lasts about 400 ms, long enough to act on it while it runs.
  let slow: DifySimulator;
  const SLOW_CHAT = 'app-slowchat00000000000001';
  const SLOW_WORKFLOW = 'app-slowflow00000000000001';
  const SLOW_LIMITED = 'app-slowlimit0000000000001';

  beforeAll(async () => {
    slow = await startDifySimulator({
      apps: [
        { key: SLOW_CHAT, mode: 'chat' },
        { key: SLOW_WORKFLOW, mode: 'workflow' },
        { key: SLOW_LIMITED, mode: 'chat', maxActiveRequests: 1 },
      ],
      streamChunkDelayMs: 40,
      answer: 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10',
    });
  });
  afterAll(() => slow.close());

  function slowPost(path: string, key: string, body: Record<string, unknown>) {
    return fetch(`${slow.url}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
  const slowChat = (key: string) => slowPost('/chat-messages', key, { inputs: {}, query: 'q', user: 'alice', response_mode: 'streaming' });

  it('a chat stop ends the running stream early with message_end', async () => {
    let stop: Promise<Response> | undefined;
    const events = await readSseEvents((await slowChat(SLOW_CHAT)).body!, (event) => {
      stop ??= slowPost(`/chat-messages/${String(event.data!.task_id)}/stop`, SLOW_CHAT, { user: 'alice' });
    });
    expect(await (await stop!).json()).toEqual({ result: 'success' });
    expect(names(events).at(-1)).toBe('message_end');
    expect(names(events).filter((n) => n === 'message').length).toBeLessThan(10);
  });

  it('a chat stop from another user is ignored but still answers success', async () => {
    let stop: Promise<Response> | undefined;
    const events = await readSseEvents((await slowChat(SLOW_CHAT)).body!, (event) => {
      stop ??= slowPost(`/chat-messages/${String(event.data!.task_id)}/stop`, SLOW_CHAT, { user: 'mallory' });
    });
    expect(await (await stop!).json()).toEqual({ result: 'success' });
    expect(names(events).filter((n) => n === 'message')).toHaveLength(10);
  });

  it('a workflow stop (any user) ends the run with workflow_finished status stopped', async () => {
    const res = await slowPost('/workflows/run', SLOW_WORKFLOW, { inputs: {}, user: 'alice', response_mode: 'streaming' });
    let stop: Promise<Response> | undefined;
    const events = await readSseEvents(res.body!, (event) => {
      if (event.event === 'text_chunk') {
        stop ??= slowPost(`/workflows/tasks/${String(event.data!.task_id)}/stop`, SLOW_WORKFLOW, { user: 'someone-else' });
      }
    });
    expect((await stop!).status).toBe(200);
    expect(names(events).filter((n) => n === 'text_chunk').length).toBeLessThan(10);
    const finished = events.at(-1)!;
    expect(finished.event).toBe('workflow_finished');
    expect(finished.data!.data).toMatchObject({ status: 'stopped' });
  });

  it('answers 429 too_many_requests as JSON, without Retry-After, while a stream holds the only slot', async () => {
    const first = await slowChat(SLOW_LIMITED);
    const reader = first.body!.getReader();
    await reader.read(); // the first stream is running

    const second = await slowChat(SLOW_LIMITED);
    expect(second.status).toBe(429);
    expect(second.headers.get('content-type')).toBe('application/json');
    expect(second.headers.get('retry-after')).toBeNull();
    expect(await body(second)).toMatchObject({ code: 'too_many_requests', status: 429 });

    while (!(await reader.read()).done);
    const third = await slowPost('/chat-messages', SLOW_LIMITED, { inputs: {}, query: 'hi', user: 'alice' });
    expect(third.status).toBe(200);
  });
});

describe('stop endpoint validation', () => {
  it('checks the app mode and requires user', async () => {
    const wrongMode = await post('/completion-messages/t/stop', CHAT, { user: 'alice' });
    expect((await body(wrongMode)).code).toBe('app_unavailable');
    const noUser = await post('/chat-messages/t/stop', CHAT, {});
    expect((await body(noUser)).message).toBe('Arg user must be provided.');
  });
});

describe('event order by app type', () => {
  it('chatflow: workflow events around message events, message_end then workflow_finished', async () => {
    const events = await readSseEvents((await streamChat(CHATFLOW)).body!);
    const order = names(events);
    expect(order[0]).toBe('workflow_started');
    expect(order.slice(-2)).toEqual(['message_end', 'workflow_finished']);
    expect(order.filter((n) => n === 'message')).toHaveLength(3);
    expect(order.indexOf('node_started')).toBeLessThan(order.indexOf('message'));
    for (const event of events) {
      expect(event.data).toMatchObject({
        task_id: expect.any(String),
        conversation_id: expect.any(String),
        message_id: expect.any(String),
        created_at: expect.any(Number),
      });
    }
  });

  it('agent-chat: agent_thought and agent_message, streaming only', async () => {
    const order = names(await readSseEvents((await streamChat(AGENT)).body!));
    expect(order).toEqual(['agent_thought', 'agent_message', 'agent_message', 'agent_message', 'agent_thought', 'message_end']);
    const blocking = await post('/chat-messages', AGENT, { inputs: {}, query: 'hi', user: 'alice' });
    expect(blocking.status).toBe(400);
  });

  it('completion: message events carry message_id and created_at but no conversation_id', async () => {
    const res = await post('/completion-messages', COMPLETION, { inputs: {}, user: 'alice', response_mode: 'streaming' });
    const events = await readSseEvents(res.body!);
    expect(names(events)).toEqual(['message', 'message', 'message', 'message_end']);
    expect(events[0].data).not.toHaveProperty('conversation_id');
    expect(events[0].data).toMatchObject({ message_id: expect.any(String), created_at: expect.any(Number) });
  });
});

describe('workflow runs', () => {
  it('replays workflow_finished for a finished run on GET /workflow/{id}/events, only to its creator', async () => {
    const run = await body(await post('/workflows/run', WORKFLOW, { inputs: { a: 1 }, user: 'alice' }));
    const runId = run.workflow_run_id as string;
    const headers = { Authorization: `Bearer ${WORKFLOW}` };

    const replay = await fetch(`${sim.url}/workflow/${runId}/events?user=alice`, { headers });
    const events = await readSseEvents(replay.body!);
    expect(names(events)).toEqual(['workflow_finished']);
    expect(events[0].data!.data).toMatchObject({ id: runId, status: 'succeeded' });

    const stranger = await fetch(`${sim.url}/workflow/${runId}/events?user=bob`, { headers });
    expect(stranger.status).toBe(404);
    const noUser = await fetch(`${sim.url}/workflow/${runId}/events`, { headers });
    expect(noUser.status).toBe(400);

    const detail = await (await fetch(`${sim.url}/workflows/run/${runId}`, { headers })).json();
    expect(detail).toMatchObject({ id: runId, status: 'succeeded', inputs: '{"a":1}', total_steps: 3 });
  });

  it('pauses for human input, serves the form, and resumes after submission', async () => {
    const headers = { Authorization: `Bearer ${WORKFLOW}`, 'Content-Type': 'application/json' };
    const res = await post('/workflows/run', WORKFLOW, {
      inputs: { sim_human_input: true },
      user: 'alice',
      response_mode: 'streaming',
    });
    const paused = await readSseEvents(res.body!);
    expect(names(paused).slice(-2)).toEqual(['human_input_required', 'workflow_paused']);
    const { form_token: token } = paused.at(-2)!.data!.data as { form_token: string };
    const runId = paused[0].data!.workflow_run_id as string;

    const form = await (await fetch(`${sim.url}/form/human_input/${token}`, { headers })).json();
    expect(form).toMatchObject({ form_content: expect.any(String), user_actions: expect.any(Array) });

    const followed = fetch(`${sim.url}/workflow/${runId}/events?user=alice&continue_on_pause=true`, { headers });
    const followedEvents = (await followed).body!;
    const submit = await fetch(`${sim.url}/form/human_input/${token}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ inputs: { comment: 'ok' }, action: 'approve', user: 'alice' }),
    });
    expect(submit.status).toBe(200);
    expect(await body(submit)).toEqual({});

    const resumed = names(await readSseEvents(followedEvents));
    expect(resumed).toContain('human_input_form_filled');
    expect(resumed.at(-1)).toBe('workflow_finished');

    const again = await fetch(`${sim.url}/form/human_input/${token}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ inputs: {}, action: 'approve', user: 'alice' }),
    });
    expect(again.status).toBe(412);
    expect((await body(again)).code).toBe('human_input_form_submitted');
  });
});

describe('close()', () => {
  it('ends open streams promptly', async () => {
    const idle = await startDifySimulator({ streamChunkDelayMs: 60_000 });
    const res = await fetch(`${idle.url}/chat-messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${idle.apps[0].key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: {}, query: 'q', user: 'u', response_mode: 'streaming' }),
    });
    const reading = readSseEvents(res.body!).then(
      () => 'ended',
      () => 'failed',
    );
    await idle.close();
    expect(await reading).toBe('failed');
  });
});
