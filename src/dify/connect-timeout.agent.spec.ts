import { describe, expect, it } from '@jest/globals';
import axios from 'axios';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { request } from 'node:https';
import { CONNECT_TIMEOUT_CODE, createDifyAgents } from './connect-timeout.agent.js';

/** A TCP server that accepts and then says nothing: a TLS handshake against it never completes. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

describe('createDifyAgents', () => {
  it('cuts a connection whose TLS handshake does not finish in time, with a not-sent code', async () => {
    const { server, port, sockets } = await silentServer();
    const { httpsAgent } = createDifyAgents(150, 8);
    try {
      const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/', agent: httpsAgent, method: 'POST' }, () => resolve(new Error('unexpected response')));
        req.on('error', resolve);
        req.end('{}');
      });
      expect(error.code).toBe(CONNECT_TIMEOUT_CODE);
      expect(sockets.length).toBe(1);
    } finally {
      httpsAgent.destroy();
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => server.close(r));
    }
  });

  it('sets TCP keep-alive once per pooled socket, not again on each request through axios', async () => {
    const server = createHttpServer((_req, res) => res.end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { httpAgent } = createDifyAgents(1000, 8);
    const client = axios.create({ httpAgent, baseURL: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
    try {
      await client.post('/', '{}');
      const free = Object.values((httpAgent as unknown as { freeSockets: Record<string, Socket[]> }).freeSockets).flat();
      expect(free).toHaveLength(1);
      // What reaches the system: the socket handle's setKeepAlive (four setsockopt calls each).
      const handle = (free[0] as unknown as { _handle: { setKeepAlive: (...args: unknown[]) => number } })._handle;
      const original = handle.setKeepAlive.bind(handle);
      const calls: unknown[][] = [];
      handle.setKeepAlive = (...args: unknown[]) => {
        calls.push(args);
        return original(...args);
      };
      for (let i = 0; i < 3; i++) await client.post('/', '{}');
      expect(Object.values((httpAgent as unknown as { freeSockets: Record<string, Socket[]> }).freeSockets).flat()).toEqual(free);
      expect(calls).toEqual([]);
    } finally {
      httpAgent.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
