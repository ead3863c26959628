/**
 * One attempt on real sockets: a loopback node:http server plays Dify. What the attempt loop
 * decides from it is covered in attempt-loop.spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import axios from 'axios';
import { runAttempts } from './attempt-loop.js';
import { createDifyAgents, POOL_FULL_CODE } from './connect-timeout.agent.js';
import { parseDifyBody, sendAttempt, type UpstreamRequest } from './upstream-attempt.js';

const KEY = 'app-CANARYattempt0123456789';
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let origin: string;
let handler: Handler = (_req, res) => res.end('{}');
const agents = createDifyAgents(1000, 8);
const http = axios.create({ httpAgent: agents.httpAgent });
/** A pool of one socket, for the pool-full case. */
const single = createDifyAgents(1000, 1);
const singleHttp = axios.create({ httpAgent: single.httpAgent });

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  agents.httpAgent.destroy();
  single.httpAgent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function request(over: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return {
    method: 'GET',
    url: `${origin}/v1/info`,
    headers: { Authorization: `Bearer ${KEY}` },
    retryClass: 'idempotent',
    signal: new AbortController().signal,
    abortReason: () => undefined,
    ...over,
  };
}

const rateLimited =
  (retryAfter: string): Handler =>
  (_req, res) => {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': retryAfter });
    res.end(JSON.stringify({ code: 'too_many_requests', message: 'slow down', status: 429 }));
  };

describe('sendAttempt', () => {
  it('ends at once when a streamed body failed before the request could send it (a refused upload)', async () => {
    handler = (req, res) => req.resume().on('end', () => res.end('{}'));
    const body = new PassThrough();
    body.on('error', () => undefined); // the rewrite's own listener, as in IsolationService.prepare
    body.destroy(new Error('multipart body refused'));
    await new Promise((resolve) => setTimeout(resolve, 20)); // its 'error' and 'close' are long gone
    const started = Date.now();
    const outcome = await sendAttempt(http, request({ method: 'POST', url: `${origin}/v1/files/upload`, body, retryClass: 'unsafe' }));
    expect(outcome.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('describes a Dify error answer from its status, code and Retry-After', async () => {
    handler = rateLimited('3');
    const outcome = await sendAttempt(http, request());
    expect(outcome).toMatchObject({
      ok: false,
      label: '429',
      countsAgainstApp: false,
      failure: { status: 429, difyCode: 'too_many_requests', retryAfterMs: 3000, sent: true },
      error: { kind: 'http', status: 429, difyCode: 'too_many_requests', difyMessage: 'slow down', retryAfter: '3', mayHaveReachedDify: true },
    });
  });

  it.each([
    ['a huge delay-seconds', '999999999999999999999'],
    ['a date in year 9999', 'Fri, 31 Dec 9999 23:59:59 GMT'],
  ])('clamps %s Retry-After to whole seconds within a day, for the wait and for the caller', async (_name, value) => {
    handler = rateLimited(value);
    const outcome = await sendAttempt(http, request());
    expect(outcome).toMatchObject({ failure: { retryAfterMs: 86_400_000 }, error: { retryAfter: '86400' } });
  });

  it('tells a connection refused (nothing sent) from a reset after sending (may have run)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await sendAttempt(http, request({ url: `http://127.0.0.1:${port}/v1/info`, retryClass: 'unsafe', method: 'POST' }));
    expect(refused).toMatchObject({
      ok: false,
      label: 'network',
      countsAgainstApp: true,
      failure: { networkCode: 'ECONNREFUSED', sent: false },
      error: { mayHaveReachedDify: false },
    });
    expect(JSON.stringify(refused)).not.toContain(KEY);

    handler = (req) => req.socket.destroy();
    const reset = await sendAttempt(http, request({ method: 'POST', retryClass: 'unsafe', body: Buffer.from('{}') }));
    expect(reset).toMatchObject({ ok: false, failure: { networkCode: 'ECONNRESET', sent: true }, error: { kind: 'network', mayHaveReachedDify: true } });
  });

  it('reads a body that is not Dify-shaped as a bad response', async () => {
    handler = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502</html>');
    expect(await sendAttempt(http, request())).toMatchObject({ ok: false, countsAgainstApp: true, error: { kind: 'bad_response', status: 502 } });
    expect(parseDifyBody(Buffer.from('{"error":"x"}'))).toBeUndefined();
  });
});

describe('the attempt loop on real sockets', () => {
  const loop = (signal = new AbortController().signal) => ({
    policy: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1000 },
    breaker: { attempt: <T>(run: () => Promise<T>) => run() },
    deadlineMs: 5000,
    onDeadline: () => undefined,
    signal,
  });

  it('never repeats a stream once its answer began, even when it breaks right after', async () => {
    let seen = 0;
    handler = (_req, res) => {
      seen++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"event":"message"}\n\n', () => setTimeout(() => res.socket?.destroy(), 20));
    };
    const result = await runAttempts(() => sendAttempt(http, request()), loop());
    expect(result).toMatchObject({ ok: true, attempts: 1 });
    const body = (result as { value: { data: Readable } }).value.data;
    await expect(new Promise((resolve, reject) => body.on('error', reject).on('end', resolve).resume())).rejects.toThrow();
    expect(seen).toBe(1);
  });

  it('fails a call at once when every socket of the pool is held by a stream, and works again after', async () => {
    let finish!: () => void;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {}\n\n');
      finish = () => res.end();
    };
    const held = await sendAttempt(singleHttp, request()); // the pool's one socket, held by a slow stream
    expect(held.ok).toBe(true);

    // Were it queued, it would wait for the held stream, which ends only below: the test would hang.
    const refused = await runAttempts(() => sendAttempt(singleHttp, request()), loop());
    expect(refused).toMatchObject({
      ok: false,
      end: 'failed',
      decision: { reason: 'pool_full' },
      attempts: 1,
      error: { kind: 'pool_full', networkCode: POOL_FULL_CODE },
    });

    finish();
    await new Promise((resolve) => (held as { value: { data: Readable } }).value.data.on('end', resolve).resume());
    handler = (_req, res) => res.end('{}');
    expect(await runAttempts(() => sendAttempt(singleHttp, request()), loop())).toMatchObject({ ok: true, attempts: 1 });
  });
});
