/**
 * Small helpers for the end-to-end suites: raw HTTP calls (node:http, so that paths, headers and
 * bodies reach the gateway exactly as written), an incremental SSE reader, and direct reads of the
 * audit table through the gateway's own database connection (PGlite allows one connection) or a
 * separate `pg` connection for Postgres.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest } from 'node:http';
import pg from 'pg';
import { PrismaService } from '../../src/database/prisma.service.js';
import { parseSseFrames, type ReceivedSseEvent } from '../../simulator/sse-reader.js';
import type { TestGateway } from './test-gateway.js';

export type { ReceivedSseEvent } from '../../simulator/sse-reader.js';

export interface CallOptions {
  /** Gateway key sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** An object is sent as JSON (with content-type); a string or Buffer is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: any;
  /** Status line, headers and body as one string, for leak checks. */
  raw: string;
}

function buildRequest(origin: string, method: string, path: string, options: CallOptions): { req: ClientRequest; payload?: Buffer } {
  const url = new URL(origin);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.key !== undefined) headers.authorization ??= `Bearer ${options.key}`;
  let payload: Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) payload = Buffer.from(options.body);
    else {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
    }
    headers['content-length'] = String(payload.length);
  }
  const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent: false });
  return { req, payload };
}

/** One request to the gateway; resolves with the whole answer. `path` is sent verbatim. */
export function call(origin: string, method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  return new Promise((resolve, reject) => {
    const { req, payload } = buildRequest(origin, method, path, options);
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const headerText = Object.entries(res.headers)
          .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
          .join('\n');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, raw: `${res.statusCode} ${res.statusMessage}\n${headerText}\n\n${text}` });
      });
    });
    req.end(payload);
  });
}

/**
 * A streaming answer read event by event. `nextEvent()` waits for the next complete SSE frame
 * (data event or bare `event: ping`); it resolves `undefined` once the body has ended or broken.
 */
export class SseClient {
  /** Everything received so far, verbatim. */
  text = '';
  /** Every frame received so far, in order. */
  readonly events: ReceivedSseEvent[] = [];
  /** True once the body ended cleanly; `broken` once it errored or was aborted. */
  ended = false;
  broken = false;
  private buffer = '';
  private cursor = 0;
  private waiters: Array<() => void> = [];
  private readonly decoder = new TextDecoder();

  private constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    private readonly req: ClientRequest,
    private readonly res: IncomingMessage,
  ) {
    res.on('data', (chunk: Buffer) => {
      const text = this.decoder.decode(chunk, { stream: true });
      this.text += text;
      this.buffer += text;
      const { events, rest } = parseSseFrames(this.buffer);
      this.buffer = rest;
      this.events.push(...events);
      this.wake();
    });
    res.on('end', () => {
      this.ended = true;
      this.wake();
    });
    const broke = () => {
      if (!this.ended) this.broken = true;
      this.wake();
    };
    res.on('error', broke);
    res.on('aborted', broke);
    res.on('close', broke);
  }

  static open(origin: string, path: string, options: CallOptions & { method?: string } = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const { req, payload } = buildRequest(origin, options.method ?? 'POST', path, options);
      req.on('error', (err) => reject(err));
      req.on('response', (res) => resolve(new SseClient(res.statusCode ?? 0, res.headers, req, res)));
      req.end(payload);
    });
  }

  /** True while the response body is still open (neither ended nor broken). */
  get open(): boolean {
    return !this.ended && !this.broken;
  }

  /** The next frame not yet returned by nextEvent(), or undefined when the body is over. */
  async nextEvent(): Promise<ReceivedSseEvent | undefined> {
    while (this.cursor >= this.events.length) {
      if (!this.open) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.events[this.cursor++];
  }

  /** The next data event (pings skipped). */
  async nextDataEvent(): Promise<ReceivedSseEvent | undefined> {
    for (;;) {
      const event = await this.nextEvent();
      if (!event || event.data) return event;
    }
  }

  /** Reads until the body is over; returns the frames not yet returned by nextEvent(). */
  async rest(): Promise<ReceivedSseEvent[]> {
    const out: ReceivedSseEvent[] = [];
    for (let e = await this.nextEvent(); e; e = await this.nextEvent()) out.push(e);
    return out;
  }

  /** The caller goes away: destroys the socket. */
  disconnect(): void {
    this.req.destroy();
    this.res.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** The data events' JSON objects. */
export const dataOf = (events: ReceivedSseEvent[]): Record<string, unknown>[] => events.flatMap((e) => (e.data ? [e.data] : []));

// ------------------------------------------------------------------------------------ database

/**
 * A call's outcome as the audit log stores it: its `call.finished` event (snake_case column
 * names, raw values; see src/audit for the event log).
 */
export type AuditColumns = Record<string, unknown> & {
  id: string;
  call_id: string;
  request_id: string;
  route: string;
  method: string;
  status: number;
  outcome: string;
};

/** Runs SQL against the gateway's database: `pg` for Postgres, the gateway's own client for PGlite. */
export async function sql<T = Record<string, unknown>>(gw: TestGateway, text: string, params: unknown[] = []): Promise<T[]> {
  if (gw.db.kind === 'postgres' && gw.db.url) {
    const client = new pg.Client({ connectionString: gw.db.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return (await gw.app.get(PrismaService).client.$queryRawUnsafe(text, ...params)) as T[];
}

export async function auditRows(gw: TestGateway): Promise<AuditColumns[]> {
  return sql<AuditColumns>(gw, "SELECT * FROM audit_events WHERE type = 'call.finished' ORDER BY seq");
}

/**
 * The audit row of one request. A successful call is audited right after its answer was sent, so
 * this polls briefly; the deadline only bounds a failure, it is not what the test measures.
 */
export async function auditRowOf(gw: TestGateway, requestId: string, deadlineMs = 5000): Promise<AuditColumns> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const rows = await sql<AuditColumns>(gw, "SELECT * FROM audit_events WHERE type = 'call.finished' AND request_id = $1", [requestId]);
    if (rows.length > 1) throw new Error(`${rows.length} audit rows for request ${requestId}`);
    if (rows.length === 1) return rows[0];
    if (Date.now() > until) throw new Error(`no audit row for request ${requestId}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the audit log holds at least `count` finished calls (see auditRowOf about the deadline). */
export async function waitForAuditCount(gw: TestGateway, count: number, deadlineMs = 5000): Promise<AuditColumns[]> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const rows = await auditRows(gw);
    if (rows.length >= count) return rows;
    if (Date.now() > until) throw new Error(`expected ${count} audit rows, found ${rows.length}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every row of every table of the gateway's schema, as JSON text: for "appears nowhere" checks. */
export async function databaseText(gw: TestGateway): Promise<string> {
  const tables = await sql<{ table_name: string }>(
    gw,
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await sql<{ row: unknown }>(gw, `SELECT row_to_json(t)::text AS row FROM "${table_name}" t`);
    parts.push(`${table_name}:\n${rows.map((r) => String(r.row)).join('\n')}`);
  }
  return parts.join('\n');
}

/** Polls `check` until it returns true; the deadline only bounds a failure. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 5000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
