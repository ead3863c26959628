import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { checkSignature } from '../../src/audit/sinks/sink-signature.js';
import { parseSyslogMessage, splitOctetFrames } from '../../src/audit/sinks/syslog-format.js';

/**
 * Loopback receivers for the audit sinks, as a SIEM would be: each keeps what it received in a
 * file (for `audit verify-stream`), checks every signature itself, and can go down (connections
 * cut, port closed) and come back on the same port mid-stream.
 */
export interface Receiver {
  port: number;
  /** The file of everything received: kept batches (HTTP) or messages (syslog), one a line. */
  file: string;
  /** Events received, in arrival order (duplicates included), by seq. */
  seqs: number[];
  badSignatures: number;
  requests: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

function tempFile(name: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'gw-siem-')), name);
  writeFileSync(file, '');
  return file;
}

async function listen(server: Server | TlsServer, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as { port: number }).port;
}

function track(server: Server | TlsServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/** An HTTP receiver (webhook or Splunk HEC): 200 for a well-signed batch, 401 otherwise; `status` forces an answer. */
export type HttpReceiver = Receiver & { status?: number; authorizations: string[]; inFlight: number; bodies: string[] };

export async function startHttpReceiver(hmacKey: string, opts: { token?: string; delayMs?: number } = {}): Promise<HttpReceiver> {
  const file = tempFile('http.ndjson');
  let server: Server | undefined;
  let sockets = new Set<Socket>();
  const receiver = {
    port: 0,
    file,
    seqs: [] as number[],
    badSignatures: 0,
    requests: 0,
    status: undefined as number | undefined,
    authorizations: [] as string[],
    /** Batches received and kept, not answered yet (`delayMs`): a sender killed now dies mid-batch. */
    inFlight: 0,
    /** Bodies of the well-signed requests, as received. */
    bodies: [] as string[],
    async up() {
      server = createServer((req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          receiver.requests += 1;
          const body = Buffer.concat(chunks).toString('utf8');
          if (receiver.status) return void res.writeHead(receiver.status).end();
          const timestamp = String(req.headers['x-gateway-timestamp'] ?? '');
          const signature = String(req.headers['x-gateway-signature'] ?? '');
          receiver.authorizations.push(String(req.headers.authorization ?? ''));
          if (!checkSignature(hmacKey, timestamp, body, signature) || (opts.token && req.headers.authorization !== `Splunk ${opts.token}`)) {
            receiver.badSignatures += 1;
            return void res.writeHead(401).end();
          }
          appendFileSync(file, `${JSON.stringify({ timestamp, signature, body })}\n`);
          receiver.bodies.push(body);
          for (const line of body.split('\n').filter(Boolean)) {
            const value = JSON.parse(line) as { seq?: number; event?: { seq: number } };
            receiver.seqs.push(value.event ? value.event.seq : value.seq!);
          }
          receiver.inFlight += 1;
          setTimeout(() => {
            receiver.inFlight -= 1;
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
          }, opts.delayMs ?? 0);
        });
      });
      sockets = track(server);
      receiver.port = await listen(server, receiver.port);
    },
    async down() {
      const s = server;
      server = undefined;
      if (!s) return;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => s.close(resolve));
    },
    close: () => receiver.down(),
  };
  await receiver.up();
  return receiver;
}

/** A self-signed certificate for 127.0.0.1 (openssl, made per test run). */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-siem-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
}

/** A syslog receiver over TLS (RFC 5425, octet counting) that checks each message's signature. */
export async function startSyslogReceiver(hmacKey: string, tls: { key: string; cert: string }): Promise<Receiver> {
  const file = tempFile('syslog.log');
  let server: TlsServer | undefined;
  let sockets = new Set<Socket>();
  const receiver: Receiver = {
    port: 0,
    file,
    seqs: [],
    badSignatures: 0,
    requests: 0,
    async up() {
      server = createTlsServer({ key: tls.key, cert: tls.cert }, (socket) => {
        receiver.requests += 1;
        let buffer: Buffer = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          const split = splitOctetFrames(Buffer.concat([buffer, chunk]));
          buffer = split.rest;
          for (const message of split.messages) {
            const parsed = parseSyslogMessage(message);
            if (!parsed || !checkSignature(hmacKey, parsed.params.ts ?? '', parsed.msg, parsed.params.sig ?? '')) {
              receiver.badSignatures += 1;
              continue;
            }
            appendFileSync(file, `${message}\n`);
            receiver.seqs.push((JSON.parse(parsed.msg) as { seq: number }).seq);
          }
        });
        socket.on('error', () => undefined);
      });
      sockets = track(server);
      receiver.port = await listen(server, receiver.port);
    },
    async down() {
      const s = server;
      server = undefined;
      if (!s) return;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => s.close(resolve));
    },
    close: () => receiver.down(),
  };
  await receiver.up();
  return receiver;
}
