import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** The code of a connection that was never made: nothing was sent, so any call may be retried. */
export const CONNECT_TIMEOUT_CODE = 'ECONNECTTIMEOUT';

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

export function createDifyAgents(connectTimeoutMs: number): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const options: AgentOptions = { keepAlive: true, maxSockets: 256, scheduling: 'lifo' };
  const httpAgent = new HttpAgent(options);
  const httpsAgent = new HttpsAgent({ ...options, rejectUnauthorized: true });
  withConnectTimeout(httpAgent, connectTimeoutMs, 'connect');
  withConnectTimeout(httpsAgent, connectTimeoutMs, 'secureConnect');
  return { httpAgent, httpsAgent };
}
