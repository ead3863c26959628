/**
 * The bench's bare Node proxy: node:http in, axios with a keep-alive agent out, nothing else
 * (no auth, logging, audit or parsing). It is the ceiling of any Node proxy on this machine, the
 * row the gateway is compared with. Run in its own process: `bare-proxy.ts <upstream origin>`.
 * Prints `{"port":N}` once listening on 127.0.0.1:0.
 */
import { Agent, createServer } from 'node:http';
import axios from 'axios';
import type { Readable } from 'node:stream';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: bare-proxy.ts <upstream origin>');

const client = axios.create({
  baseURL: upstream,
  httpAgent: new Agent({ keepAlive: true, maxSockets: Infinity }),
  responseType: 'stream',
  validateStatus: () => true,
  maxRedirects: 0,
  decompress: false,
  transformRequest: [(data: unknown) => data],
});

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'authorization']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    client
      .request<Readable>({ method: req.method, url: req.url, headers, data: chunks.length > 0 ? Buffer.concat(chunks) : undefined })
      .then((answer) => {
        const out: Record<string, string> = {};
        for (const name of ['content-type', 'content-length', 'cache-control']) {
          const value = answer.headers[name] as unknown;
          if (typeof value === 'string' || typeof value === 'number') out[name] = String(value);
        }
        res.writeHead(answer.status, out);
        if (out['content-type']?.startsWith('text/event-stream')) res.flushHeaders();
        answer.data.pipe(res);
        res.on('close', () => answer.data.destroy());
      })
      .catch(() => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"code":"bad_gateway","message":"upstream failed","status":502}');
      });
  });
});
server.maxRequestsPerSocket = 0;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
