import { Agent as HttpAgent, type AgentOptions, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** The code of a connection that was never made: nothing was sent, so any call may be retried. */
export const CONNECT_TIMEOUT_CODE = 'ECONNECTTIMEOUT';
/** The code of a request refused because every socket to its Dify origin is in use: nothing was sent. */
export const POOL_FULL_CODE = 'EPOOLFULL';

/** Sockets whose connection (TCP, and TLS for https) is established. */
const readySockets = new WeakSet<object>();

/**
 * Calls `onReady` once the socket's connection to Dify is established (at once for a reused
 * keep-alive socket). From then on a request written to it may reach Dify; before, nothing can.
 */
export function onSocketReady(socket: Duplex, onReady: () => void): void {
  if (readySockets.has(socket)) {
    onReady();
    return;
  }
  const s = socket as Socket;
  const tls = (s as TLSSocket).encrypted === true;
  if (!tls && s.connecting === false && !s.destroyed) {
    onReady(); // a socket made elsewhere (not by these agents), already connected
    return;
  }
  s.once(tls ? 'secureConnect' : 'connect', onReady);
}

type CreateConnection = (options: object, callback?: (err: Error | null, socket: Duplex) => void) => Duplex;

/**
 * Node's agents have an idle timeout but no connect timeout. These keep-alive agents destroy a
 * socket that is not connected (TCP, and TLS for https) within `connectTimeoutMs`.
 */
function withConnectTimeout(agent: HttpAgent, connectTimeoutMs: number, readyEvent: 'connect' | 'secureConnect'): void {
  const original = (agent as unknown as { createConnection: CreateConnection }).createConnection.bind(agent);
  (agent as unknown as { createConnection: CreateConnection }).createConnection = (options, callback) => {
    const socket = original(options, callback) as Socket | TLSSocket;
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error('connect timeout'), { code: CONNECT_TIMEOUT_CODE }));
    }, connectTimeoutMs);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      readySockets.add(socket);
    });
    socket.once('close', () => clearTimeout(timer));
    return socket;
  };
}

type AddRequest = (req: ClientRequest, options: object) => void;
type QueuedRequests = Record<string, ClientRequest[] | undefined>;

/**
 * Node's agents queue a request, unseen and without a bound, when every socket to its origin is
 * busy. These refuse it instead: the request fails at once with POOL_FULL_CODE (nothing was
 * sent), as a full bulkhead does, so the caller hears 503 instead of waiting for a socket.
 */
function failFastWhenFull(agent: HttpAgent): void {
  const original = (agent as unknown as { addRequest: AddRequest }).addRequest.bind(agent);
  (agent as unknown as { addRequest: AddRequest }).addRequest = (req, options) => {
    original(req, options);
    const requests = (agent as unknown as { requests: QueuedRequests }).requests;
    for (const [name, queue] of Object.entries(requests)) {
      if (queue?.[queue.length - 1] !== req) continue;
      queue.pop();
      if (queue.length === 0) delete requests[name];
      const error = Object.assign(new Error('every connection to Dify is in use'), { code: POOL_FULL_CODE });
      // Node's own path for a request that cannot get a socket: 'error', then 'close'.
      (req as unknown as { onSocket(socket: null, error: Error): void }).onSocket(null, error);
      return;
    }
  };
}

/**
 * axios sets TCP keep-alive on each request's socket (60 s) and the agent sets it again each time
 * the socket goes back to the pool (`keepAliveMsecs`, 1 s by default): four setsockopt calls each
 * time the two differ, eight per call. Node skips a setting the socket already has, so with the
 * same delay in both it is made once per socket.
 */
const KEEP_ALIVE_MS = 60_000;

/** Keep-alive agents to Dify: a connect timeout, at most `maxSockets` per origin, and no queue beyond. */
export function createDifyAgents(connectTimeoutMs: number, maxSockets: number): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const options: AgentOptions = { keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS, maxSockets, maxFreeSockets: Math.min(maxSockets, 256), scheduling: 'lifo' };
  const httpAgent = new HttpAgent(options);
  const httpsAgent = new HttpsAgent({ ...options, rejectUnauthorized: true });
  for (const [agent, ready] of [
    [httpAgent, 'connect'],
    [httpsAgent, 'secureConnect'],
  ] as const) {
    withConnectTimeout(agent, connectTimeoutMs, ready);
    failFastWhenFull(agent);
  }
  return { httpAgent, httpsAgent };
}
