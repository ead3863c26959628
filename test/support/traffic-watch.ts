/**
 * Watches the HTTP traffic of this test process through Node's diagnostics channels, without
 * touching the gateway or the simulator (both run in-process in e2e tests):
 *
 * - `served(port)`: every request an in-process HTTP server on that port received, with the raw
 *   request target (`req.url`, query string included, exactly as sent) and the status it answered;
 * - `outbound`: every TCP connection this process opened (host and port as connected), and every
 *   DNS lookup a client socket made, so a test can prove no request left for another host.
 *
 * Statuses are known only once a response has finished: await `exchange.finished`.
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ServedExchange {
  /** Local port of the server that received the request. */
  port: number;
  method: string;
  /** The raw request target, as received (path and query string). */
  url: string;
  /** Set once the response has finished. */
  status?: number;
  /** Resolves with the status once the response has finished. */
  finished: Promise<number>;
}

export interface OutboundConnection {
  /** `host:port` for connected sockets, `lookup:<host>` for DNS lookups. */
  target: string;
}

export interface TrafficWatch {
  served(port: number): ServedExchange[];
  outbound: OutboundConnection[];
  clear(): void;
  stop(): void;
}

interface ServerMessage {
  request: IncomingMessage;
  response: ServerResponse;
  socket: Socket;
}

export function watchTraffic(): TrafficWatch {
  const exchanges: ServedExchange[] = [];
  const pending = new WeakMap<ServerResponse, (status: number) => void>();
  const outbound: OutboundConnection[] = [];

  const onRequestStart = (message: unknown) => {
    const { request, response, socket } = message as ServerMessage;
    let resolve!: (status: number) => void;
    const exchange: ServedExchange = {
      port: socket.localPort ?? 0,
      method: request.method ?? '',
      url: request.url ?? '',
      finished: new Promise<number>((r) => (resolve = r)),
    };
    pending.set(response, (status) => {
      exchange.status = status;
      resolve(status);
    });
    exchanges.push(exchange);
  };
  const onResponseFinish = (message: unknown) => {
    const { response } = message as ServerMessage;
    pending.get(response)?.(response.statusCode);
    pending.delete(response);
  };
  const onClientSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    socket.once('connect', () => outbound.push({ target: `${socket.remoteAddress}:${socket.remotePort}` }));
    socket.once('lookup', (_err: unknown, _address: unknown, _family: unknown, host: string) => outbound.push({ target: `lookup:${host}` }));
  };

  dc.subscribe('http.server.request.start', onRequestStart);
  dc.subscribe('http.server.response.finish', onResponseFinish);
  dc.subscribe('net.client.socket', onClientSocket);

  return {
    served: (port) => exchanges.filter((e) => e.port === port),
    outbound,
    clear() {
      exchanges.length = 0;
      outbound.length = 0;
    },
    stop() {
      dc.unsubscribe('http.server.request.start', onRequestStart);
      dc.unsubscribe('http.server.response.finish', onResponseFinish);
      dc.unsubscribe('net.client.socket', onClientSocket);
    },
  };
}
