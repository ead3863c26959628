import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drainBeforeAnswer } from './linger.js';

/** A server that refuses every body at its first chunk, as the gateway refuses a hostile upload. */
async function refusingServer(drain: boolean, limits?: { maxBytes: number; ms: number }): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.once('data', async () => {
      req.pause();
      if (drain) await drainBeforeAnswer(req, res, limits);
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":"invalid_param","message":"refused","status":400}');
    });
  });
  server.keepAliveTimeout = 500; // what resets a stalled kept-alive upload, sooner than Node's 5 s
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

type Outcome = { status?: number; error?: string };

/** Sends `bytes` to the server, writing all of it before reading, like supertest and most SDKs; settles when the request is over. */
function upload(server: Server, bytes: number, connection: 'close' | 'keep-alive'): Promise<Outcome> {
  const port = (server.address() as AddressInfo).port;
  const outcome: Outcome = {};
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', agent: false, headers: { 'content-length': bytes, connection } }, (res) => {
      outcome.status = res.statusCode;
      res.resume();
    });
    req.on('error', (error: NodeJS.ErrnoException) => (outcome.error = error.code));
    req.on('close', () => resolve(outcome));
    req.end(Buffer.alloc(bytes, 'a'));
  });
}

/** Declares `declared` bytes (or none: chunked) and sends 1 KiB every 20 ms, never finishing; resolves with the answer's status and when it came. */
function tricklingUpload(server: Server, declared?: number): Promise<{ status: number; afterMs: number }> {
  const port = (server.address() as AddressInfo).port;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { connection: 'close' };
    if (declared !== undefined) headers['content-length'] = declared;
    const req = request({ host: '127.0.0.1', port, method: 'POST', agent: false, headers }, (res) => {
      clearInterval(trickle);
      req.destroy();
      resolve({ status: res.statusCode!, afterMs: Date.now() - started });
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    const trickle = setInterval(() => req.write(Buffer.alloc(1024, 'a')), 20);
    req.write(Buffer.alloc(1024, 'a'));
  });
}

describe('drainBeforeAnswer', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  const upTo = 12 * 1024 * 1024;

  it.each(['close', 'keep-alive'] as const)('lets a caller (Connection: %s) finish its upload and hear the refusal', async (connection) => {
    server = await refusingServer(true);
    expect(await upload(server, upTo, connection)).toEqual({ status: 400 });
  });

  it.each(['close', 'keep-alive'] as const)('is what stands between that caller (Connection: %s) and a broken connection', async (connection) => {
    server = await refusingServer(false);
    expect(['EPIPE', 'ECONNRESET']).toContain((await upload(server, upTo, connection)).error);
  });

  it('waits at most ms for a body that does not end', async () => {
    server = await refusingServer(true, { maxBytes: 1024 * 1024, ms: 300 });
    const { status, afterMs } = await tricklingUpload(server);
    expect(status).toBe(400);
    expect(afterMs).toBeGreaterThanOrEqual(280);
    expect(afterMs).toBeLessThan(3_000);
  });

  it('reads at most maxBytes: a chunked body over it, or a declared one, is answered without waiting', async () => {
    server = await refusingServer(true, { maxBytes: 4 * 1024, ms: 60_000 });
    const chunked = await tricklingUpload(server);
    expect(chunked.status).toBe(400);
    expect(chunked.afterMs).toBeLessThan(3_000);
    const declared = await tricklingUpload(server, 100 * 1024 * 1024);
    expect(declared.status).toBe(400);
    expect(declared.afterMs).toBeLessThan(1_000);
  });
});
