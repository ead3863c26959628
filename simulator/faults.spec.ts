/** Scripted faults: every kind, matching, `times`, and the request log of faulted requests. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ChatClient } from 'dify-client';
import { startDifySimulator, type DifySimulator } from './dify-simulator.js';
import { readSseEvents, type ReceivedSseEvent } from './sse-reader.js';

const KEY = 'app-faults000000000000000001';
let sim: DifySimulator;

beforeAll(async () => {
  sim = await startDifySimulator({ apps: [{ key: KEY, mode: 'chat' }], streamChunkDelayMs: 1, answer: 'a b c d e' });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const info = () => fetch(`${sim.url}/info`, { headers: { Authorization: `Bearer ${KEY}` } });

function chat(streaming: boolean, body: Record<string, unknown> = {}) {
  return fetch(`${sim.url}/chat-messages`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      inputs: {},
      query: 'hi',
      user: 'alice',
      response_mode: streaming ? 'streaming' : 'blocking',
      ...body,
    }),
  });
}

/** Reads an SSE body; resolves with the events and whether the stream failed instead of ending. */
async function readUntilEnd(res: Response): Promise<{ events: ReceivedSseEvent[]; failed: boolean }> {
  const events: ReceivedSseEvent[] = [];
  try {
    await readSseEvents(res.body!, (event) => events.push(event));
    return { events, failed: false };
  } catch {
    return { events, failed: true };
  }
}

describe('status', () => {
  it('answers with a Dify JSON error once, then normally', async () => {
    sim.addFault({ kind: 'status', status: 503, code: 'service_unavailable', message: 'down for a moment' });
    const faulted = await info();
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('content-type')).toBe('application/json');
    expect(await faulted.json()).toEqual({ code: 'service_unavailable', message: 'down for a moment', status: 503 });
    expect((await info()).status).toBe(200);
  });

  it('uses a default code and message for the status, and can add Retry-After', async () => {
    sim.addFault({ kind: 'status', status: 503, retryAfter: '2' });
    const res = await info();
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ code: 'service_unavailable', status: 503, message: expect.any(String) });
  });

  it('applies to `times` requests and records every attempt', async () => {
    sim.addFault({ kind: 'status', status: 502, times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await info()).status);
    expect(statuses).toEqual([502, 502, 200]);
    expect(sim.requests.map((r) => r.path)).toEqual(['/v1/info', '/v1/info', '/v1/info']);
  });
});

describe('html', () => {
  it('answers with an HTML error page like a proxy would', async () => {
    sim.addFault({ kind: 'html', status: 502 });
    const res = await info();
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toContain('<title>502 Bad Gateway</title>');
  });
});

describe('rate-limit', () => {
  it('answers 429 too_many_requests with Retry-After when given', async () => {
    sim.addFault({ kind: 'rate-limit', retryAfter: '7' });
    const res = await info();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toMatchObject({ code: 'too_many_requests', status: 429 });
  });

  it('omits Retry-After when not given and lets the code be overridden', async () => {
    sim.addFault({ kind: 'rate-limit', code: 'rate_limit_error', message: 'Rate Limit Error' });
    const res = await info();
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.json()).toEqual({ code: 'rate_limit_error', message: 'Rate Limit Error', status: 429 });
  });

  it('reaches the SDK as a 429 axios error', async () => {
    sim.addFault({ kind: 'rate-limit', retryAfter: 'Wed, 21 Oct 2037 07:28:00 GMT' });
    const error = await new ChatClient(KEY, sim.url).createChatMessage({}, 'hi', 'alice').catch((e: unknown) => e);
    const response = (error as { response: { status: number; headers: Record<string, string> } }).response;
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('Wed, 21 Oct 2037 07:28:00 GMT');
  });
});

describe('malformed-json', () => {
  it('answers 200 application/json with a body that does not parse', async () => {
    sim.addFault({ kind: 'malformed-json' });
    const res = await chat(false);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();
  });
});

describe('latency', () => {
  it('delays the matching request, then answers normally', async () => {
    sim.addFault({ kind: 'latency', delayMs: 200, match: { path: '/info' } });
    const finished: string[] = [];
    const slow = info().then(async (res) => {
      finished.push('info');
      return res.json();
    });
    const fast = fetch(`${sim.url}/meta`, { headers: { Authorization: `Bearer ${KEY}` } }).then((res) => {
      finished.push('meta');
      return res.json();
    });
    const [slowBody] = await Promise.all([slow, fast]);
    expect(finished).toEqual(['meta', 'info']);
    expect(slowBody).toMatchObject({ mode: 'chat' });
  });
});

describe('reset', () => {
  it('destroys the socket without a response, and the request is still recorded', async () => {
    sim.addFault({ kind: 'reset' });
    await expect(chat(false)).rejects.toThrow();
    expect(sim.requests).toHaveLength(1);
    expect(sim.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat-messages' });
    expect(sim.requests[0].body).toBeUndefined();
    expect((await chat(false)).status).toBe(200);
  });

  it('can reset after reading the body', async () => {
    sim.addFault({ kind: 'reset', resetBeforeBody: false });
    await expect(chat(false)).rejects.toThrow();
    expect(sim.requests[0].body).toMatchObject({ query: 'hi', user: 'alice' });
  });
});

describe('cut-stream', () => {
  it('drops the connection after N events, with no terminal event', async () => {
    sim.addFault({ kind: 'cut-stream', afterEvents: 2 });
    const res = await chat(true);
    expect(res.status).toBe(200);
    const { events, failed } = await readUntilEnd(res);
    expect(failed).toBe(true);
    expect(events.map((e) => e.event)).toEqual(['message', 'message']);
  });

  it('cuts a blocking answer halfway through its body', async () => {
    sim.addFault({ kind: 'cut-stream' });
    const res = await chat(false);
    await expect(res.text()).rejects.toThrow();
  });
});

describe('stream-error (extension)', () => {
  it('sends an error event without task_id after N events and ends the stream', async () => {
    sim.addFault({ kind: 'stream-error', afterEvents: 1, status: 400, code: 'completion_request_error', message: 'boom' });
    const res = await chat(true);
    const { events, failed } = await readUntilEnd(res);
    expect(failed).toBe(false);
    expect(events.map((e) => e.event)).toEqual(['message', 'error']);
    expect(events[1].data).toEqual({ event: 'error', status: 400, code: 'completion_request_error', message: 'boom' });
  });
});

describe('matching', () => {
  it('matches on method and on the path below /v1, the full path or a RegExp', async () => {
    sim.addFault({ kind: 'status', status: 500, match: { method: 'GET', path: '/chat-messages' }, times: Infinity });
    sim.addFault({ kind: 'status', status: 501, match: { path: '/v1/meta' } });
    sim.addFault({ kind: 'status', status: 502, match: { path: /parameters$/ } });

    expect((await chat(false)).status).toBe(200); // POST does not match the GET fault
    expect((await fetch(`${sim.url}/meta`, { headers: { Authorization: `Bearer ${KEY}` } })).status).toBe(501);
    expect((await fetch(`${sim.url}/parameters`, { headers: { Authorization: `Bearer ${KEY}` } })).status).toBe(502);
    expect((await info()).status).toBe(200);
  });

  it('applies the first matching fault first', async () => {
    sim.addFault({ kind: 'status', status: 503 });
    sim.addFault({ kind: 'status', status: 504 });
    expect((await info()).status).toBe(503);
    expect((await info()).status).toBe(504);
    expect((await info()).status).toBe(200);
  });

  it('forgets queued faults on clearFaults()', async () => {
    sim.addFault({ kind: 'status', status: 503, times: 5 });
    sim.clearFaults();
    expect((await info()).status).toBe(200);
  });
});
