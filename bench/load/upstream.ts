/**
 * The bench's minimal Dify-shaped upstream (run in its own process by bench/load.ts): as little
 * work per call as possible, so that it is never what a row measures.
 *
 * - `POST /v1/chat-messages`, blocking: Dify's answer shape (SERVICE_API.md §4.1) with fresh ids.
 * - the same with `response_mode: "streaming"`: `inputs.chunks` `message` events
 *   `inputs.interval_ms` apart, then `message_end`. Each `answer` is the upstream's wall clock
 *   in ms when the event was written, so a client can tell how long the event took to reach it.
 * - any other request: 200 `{}` (the gateway's readiness probe of Dify lands here).
 * Prints `{"port":N}` once listening on 127.0.0.1:0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
const usage = { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, total_price: '0.000004', currency: 'USD', latency: 0.001 };

function ids() {
  const id = randomUUID();
  return { task_id: randomUUID(), id, message_id: id, conversation_id: randomUUID(), created_at: Math.floor(Date.now() / 1000) };
}

function blocking(res: ServerResponse): void {
  const body = JSON.stringify({ event: 'message', ...ids(), mode: 'chat', answer: 'ok', metadata: { usage, retriever_resources: [] } });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function streaming(res: ServerResponse, chunks: number, intervalMs: number): void {
  const base = ids();
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  let sent = 0;
  const send = () => {
    if (res.destroyed) return clearInterval(timer);
    if (sent < chunks) {
      sent++;
      res.write(`data: ${JSON.stringify({ event: 'message', ...base, answer: now() })}\n\n`);
      return;
    }
    clearInterval(timer);
    res.end(`data: ${JSON.stringify({ event: 'message_end', ...base, metadata: { usage, retriever_resources: [] } })}\n\n`);
  };
  const timer = setInterval(send, intervalMs);
  send();
}

function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.method !== 'POST' || !req.url?.startsWith('/v1/chat-messages')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
    return;
  }
  let body: { response_mode?: string; inputs?: { chunks?: number; interval_ms?: number } } = {};
  try {
    body = JSON.parse(raw) as typeof body;
  } catch {
    // treated as blocking
  }
  if (body.response_mode === 'streaming') {
    const chunks = Math.min(10_000, Math.max(1, Number(body.inputs?.chunks ?? 10)));
    const intervalMs = Math.min(10_000, Math.max(1, Number(body.inputs?.interval_ms ?? 20)));
    streaming(res, chunks, intervalMs);
  } else {
    blocking(res);
  }
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (raw += chunk));
  req.on('end', () => handle(req, res, raw));
});
server.maxRequestsPerSocket = 0;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
