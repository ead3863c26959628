/**
 * A TCP pass-through between the gateway and the Dify simulator that records, per connection,
 * the bytes each side sent and when the connection closed. Tests use it to see the upstream
 * connection from the outside: what the simulator had sent when the caller got its first event,
 * and whether the gateway closed the upstream socket.
 *
 *   const tap = await startTcpTap();
 *   const gw = await startTestGateway({ env: { DIFY_BASE_URL: tap.url } });
 *   tap.target = gw.sim.port;
 */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TapConnection {
  readonly id: number;
  /** Bytes the gateway sent (requests), as latin1 text. */
  fromGateway: string;
  /** Bytes the simulator sent (responses), as latin1 text. */
  fromUpstream: string;
  /** Which side closed first, once closed. */
  closedBy?: 'gateway' | 'upstream';
  /** What the simulator had sent on this connection when the gateway side closed. */
  upstreamTextAtGatewayClose?: string;
  /** For each chunk the gateway sent: where it ended in `fromGateway`, and how much the simulator had sent by then. */
  readonly marks: Array<{ gatewayEnd: number; upstreamAt: number }>;
  readonly closed: Promise<void>;
}

export interface TcpTap {
  port: number;
  /** `http://127.0.0.1:<port>/v1`: a DIFY_BASE_URL. */
  url: string;
  /** Port of the simulator; set before the first upstream call. */
  target: number;
  connections: TapConnection[];
  close(): Promise<void>;
}

export async function startTcpTap(): Promise<TcpTap> {
  const sockets = new Set<Socket>();
  const connections: TapConnection[] = [];
  let nextId = 1;
  const tap: TcpTap = { port: 0, url: '', target: 0, connections, close: async () => undefined };

  const server = createServer((gatewaySide) => {
    const upstream = connect(tap.target, '127.0.0.1');
    sockets.add(gatewaySide);
    sockets.add(upstream);
    let resolveClosed!: () => void;
    const conn: TapConnection = {
      id: nextId++,
      fromGateway: '',
      fromUpstream: '',
      marks: [],
      closed: new Promise<void>((resolve) => (resolveClosed = resolve)),
    };
    connections.push(conn);
    gatewaySide.on('data', (d: Buffer) => {
      conn.fromGateway += d.toString('latin1');
      conn.marks.push({ gatewayEnd: conn.fromGateway.length, upstreamAt: conn.fromUpstream.length });
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      conn.fromUpstream += d.toString('latin1');
      gatewaySide.write(d);
    });
    const closeBoth = (by: 'gateway' | 'upstream') => {
      if (!conn.closedBy) {
        conn.closedBy = by;
        if (by === 'gateway') conn.upstreamTextAtGatewayClose = conn.fromUpstream;
      }
      gatewaySide.destroy();
      upstream.destroy();
      resolveClosed();
    };
    gatewaySide.on('end', () => closeBoth('gateway'));
    gatewaySide.on('close', () => closeBoth('gateway'));
    upstream.on('end', () => closeBoth('upstream'));
    upstream.on('close', () => closeBoth('upstream'));
    gatewaySide.on('error', () => undefined);
    upstream.on('error', () => undefined);
    gatewaySide.on('close', () => sockets.delete(gatewaySide));
    upstream.on('close', () => sockets.delete(upstream));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tap.port = (server.address() as AddressInfo).port;
  tap.url = `http://127.0.0.1:${tap.port}/v1`;
  tap.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return tap;
}

/** The connection whose requests contain `marker` (e.g. a request id the gateway forwards as X-Request-Id). */
export function connectionWith(tap: TcpTap, marker: string): TapConnection | undefined {
  return tap.connections.find((c) => c.fromGateway.includes(marker));
}

/**
 * What the simulator sent on `conn` after the request holding `marker` was sent (keep-alive
 * connections carry several requests), up to now or, with `atGatewayClose`, up to the moment the
 * gateway closed the connection.
 */
export function upstreamTextAfter(conn: TapConnection, marker: string, atGatewayClose = false): string {
  const index = conn.fromGateway.indexOf(marker);
  if (index === -1) throw new Error(`marker not sent on connection ${conn.id}`);
  const mark = conn.marks.find((m) => m.gatewayEnd > index);
  const text = atGatewayClose ? (conn.upstreamTextAtGatewayClose ?? conn.fromUpstream) : conn.fromUpstream;
  return text.slice(mark?.upstreamAt ?? 0);
}
