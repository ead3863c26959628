/**
 * A fake Dify server on loopback that follows the Service API contract (../shared/dify/SERVICE_API.md)
 * closely enough for the official `dify-client` SDK, with a request log and scripted faults.
 *
 *   const sim = await startDifySimulator({ apps: [{ key: 'app-…', mode: 'chat' }] });
 *   new ChatClient(sim.apps[0].key, sim.url);
 *   sim.addFault({ kind: 'rate-limit', retryAfter: '1' });
 *   await sim.close();
 *
 * Simulator directive: a workflow/chatflow run whose inputs contain `sim_human_input: true` pauses at a
 * human-input node (human_input_required → workflow_paused) until its form is submitted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { authenticate, bearerToken } from './auth.js';
import { BodyTooLargeError, describeBody, readBody } from './body.js';
import { RequestContext, type AppContext, type SimulatorRuntime } from './context.js';
import { methodNotAllowed, notFound, payloadTooLarge } from './errors.js';
import { answerWithFault, FaultQueue, isReplacingFault } from './faults.js';
import { createKnowledgeBase } from './handlers/knowledge.js';
import type { KnowledgeBase } from './knowledge-types.js';
import { matchRoute } from './router.js';
import { ROUTES } from './routes.js';
import type { SseStream } from './sse.js';
import { SimulatorState } from './state.js';
import type { DifySimulator, Fault, RecordedRequest, SimulatorApp, SimulatorOptions } from './types.js';
import { isPlainObject, randomApiKey, sleep } from './util.js';

export type { DifySimulator, Fault, FaultKind, RecordedRequest, SimulatorApp, SimulatorAppMode, SimulatorDataset, SimulatorOptions } from './types.js';
export { HUMAN_INPUT_DIRECTIVE } from './generation/workflow-definition.js';

export const DEFAULT_ANSWER = 'Hello from the Dify simulator. This answer is streamed to you word by word.';

export async function startDifySimulator(opts: SimulatorOptions = {}): Promise<DifySimulator> {
  const appsIn: SimulatorApp[] = opts.apps?.length ? opts.apps : [{ key: randomApiKey('app'), mode: 'chat' }];
  const state = new SimulatorState(appsIn);
  const faults = new FaultQueue();
  const requests: RecordedRequest[] = [];
  const closing = new AbortController();
  const sockets = new Set<Socket>();
  const streams = new Set<SseStream>();
  let nextRequestId = 1;

  const knowledge = new Map<string, KnowledgeBase>();
  const seeded = (opts.datasets ?? []).map((seed) => createKnowledgeBase(knowledge, seed));
  const runtime: SimulatorRuntime = {
    state,
    datasetKeys: new Set(opts.datasetKeys ?? []),
    knowledge,
    pingIntervalMs: opts.pingIntervalMs ?? 10_000,
    streamChunkDelayMs: opts.streamChunkDelayMs ?? 20,
    answer: opts.answer ?? DEFAULT_ANSWER,
    legacyWorkflowLogs: opts.legacyWorkflowLogs ?? false,
    closing: closing.signal,
    origin: '',
    streams,
  };

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      console.error('[dify-simulator] request failed:', err);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 'unknown', message: 'Internal Server Error', status: 500 }));
    });
  });
  // Idle keep-alive sockets are closed by the client, never by the simulator in the middle of a reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => undefined); // writes after a client reset are not the simulator's problem
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const record = recordRequest(req, url);
    const fault = faults.take(record.method, url.pathname);

    if (fault?.kind === 'reset' && fault.resetBeforeBody !== false) {
      req.socket.destroy();
      return;
    }
    let rawBody: Buffer;
    try {
      rawBody = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        const error = payloadTooLarge();
        res.writeHead(error.status, { 'Content-Type': 'application/json', Connection: 'close' });
        res.end(JSON.stringify(error.toBody()));
      }
      return;
    }
    record.body = describeBody(req.headers['content-type'], rawBody);
    record.user ??= userOfBody(record.body);

    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'latency') await sleep(fault.delayMs ?? 0, closing.signal);
    if (fault && isReplacingFault(fault)) {
      answerWithFault(res, fault);
      return;
    }
    const streamFault = fault?.kind === 'cut-stream' || fault?.kind === 'stream-error' ? fault : undefined;
    const path = url.pathname === '/v1' ? '/' : url.pathname.startsWith('/v1/') ? url.pathname.slice(3) : null;
    const ctx = new RequestContext(req, res, url, path ?? url.pathname, rawBody, record, runtime, streamFault);
    try {
      await dispatch(ctx, path);
    } catch (err) {
      ctx.error(err);
    }
  }

  async function dispatch(ctx: RequestContext, path: string | null): Promise<void> {
    if (path === null) throw notFound();
    const match = matchRoute(ROUTES, ctx.method, path);
    if (match.kind === 'not-found') throw notFound();
    if (match.kind === 'method-not-allowed') {
      if (ctx.method !== 'OPTIONS') throw methodNotAllowed(match.allowed);
      ctx.res.writeHead(200, { Allow: [...match.allowed, 'OPTIONS'].join(', '), 'Content-Length': '0' });
      ctx.res.end();
      return;
    }
    ctx.params = match.params;
    const { route } = match;
    const header = ctx.req.headers.authorization;
    switch (route.auth) {
      case 'none':
        return route.handler(ctx);
      case 'dataset':
        authenticate(header, (token) => runtime.datasetKeys.has(token));
        return route.handler(ctx);
      case 'app': {
        const token = authenticate(header, (token) => state.appByKey(token) !== undefined);
        ctx.app = state.appByKey(token);
        return route.handler(ctx as AppContext);
      }
    }
  }

  function recordRequest(req: IncomingMessage, url: URL): RecordedRequest {
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = values.length === 1 ? values[0] : values;
    }
    const record: RecordedRequest = {
      id: nextRequestId++,
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query,
      headers: { ...req.headers },
      appKey: bearerToken(req.headers.authorization),
      user: url.searchParams.get('user') ?? undefined,
      receivedAt: Date.now(),
    };
    requests.push(record);
    return record;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  runtime.origin = `http://${host}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url: `${runtime.origin}/v1`,
    port: address.port,
    apps: state.apps.map((app) => ({
      key: app.key,
      mode: app.mode,
      name: app.name,
      id: app.id,
      workflowId: app.workflowId,
      ...(app.maxActiveRequests > 0 ? { maxActiveRequests: app.maxActiveRequests } : {}),
    })),
    requests,
    datasets: seeded.map((kb) => ({ id: kb.id, name: kb.name })),
    addAppKey: (existingKey: string, newKey: string) => {
      const app = state.appByKey(existingKey);
      if (!app) throw new Error('no app has this key');
      app.keys.add(newKey);
    },
    removeAppKey: (key: string) => {
      for (const app of state.apps) app.keys.delete(key);
    },
    addDatasetKey: (key: string) => void runtime.datasetKeys.add(key),
    removeDatasetKey: (key: string) => void runtime.datasetKeys.delete(key),
    addFault: (fault: Fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    reset: () => {
      requests.length = 0;
      faults.clear();
      state.reset();
    },
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        state.reset();
        for (const stream of streams) stream.cut();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

function userOfBody(body: unknown): string | undefined {
  if (!isPlainObject(body)) return undefined;
  if (typeof body.user === 'string') return body.user;
  const fields = body.fields;
  if (isPlainObject(fields) && typeof fields.user === 'string') return fields.user;
  return undefined;
}
