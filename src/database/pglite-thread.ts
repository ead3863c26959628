/**
 * The PGlite worker thread, started by ./pglite-worker.ts: the WASM Postgres runs here, so its
 * work does not block the gateway's event loop. Self-contained on purpose: from `dist/` it is the
 * compiled .js, under jest and tsx it runs from this .ts file by Node's own type stripping, so it
 * imports nothing of ours but types.
 */
import { messages, PGlite, type Results, type Transaction } from '@electric-sql/pglite';
import { parentPort, workerData } from 'node:worker_threads';

export interface ThreadOptions {
  dataDir: string;
  /** Postgres settings (`-c name=value`) added to PGlite's defaults. */
  settings: string[];
}

export type ThreadRequest =
  | { id: number; op: 'query'; tx?: number; sql: string; params?: unknown[]; rowMode?: 'array' | 'object'; rawTypes?: number[] }
  | { id: number; op: 'exec'; tx?: number; sql: string }
  | { id: number; op: 'begin' }
  | { id: number; op: 'commit' | 'rollback'; tx: number }
  | { id: number; op: 'close' };

/** An error's own fields (PGlite's `code`, `detail`, `constraint`…), `database` when it was PGlite's `DatabaseError`. */
export type ThreadError = { message: string; name?: string; stack?: string; database?: boolean } & Record<string, string | number | boolean | undefined>;

/** `ready` once (the database opened, or `error`), then one reply per request, by `id`. */
export type ThreadReply = { ready: true } | { ready: false; error: ThreadError } | { id: number; value?: unknown; error?: ThreadError };

type Queryable = Pick<Transaction, 'query' | 'exec'>;

const port = parentPort!;
const options = workerData as ThreadOptions;
const db = new PGlite(options.dataDir, { startParams: [...PGlite.defaultStartParams, ...options.settings.flatMap((s) => ['-c', s])] });
/** Open interactive transactions: PGlite holds each one (its transaction mutex) until `end` is called. */
const open = new Map<number, { tx: Transaction; end: (rollback: boolean, replyTo: number) => void }>();
let nextTx = 1;
/** Thrown out of a transaction's callback to make PGlite roll it back. */
const ROLLBACK = Symbol('rollback');

db.waitReady.then(
  () => port.postMessage({ ready: true } satisfies ThreadReply),
  (err: unknown) => port.postMessage({ ready: false, error: serializeError(err) } satisfies ThreadReply),
);
port.on('message', (msg: ThreadRequest) => void handle(msg));

async function handle(msg: ThreadRequest): Promise<void> {
  try {
    switch (msg.op) {
      case 'query': {
        const parsers = msg.rawTypes ? rawParsers(msg.rawTypes) : undefined;
        const r = await target(msg.tx).query(msg.sql, msg.params, { rowMode: msg.rowMode, parsers });
        return reply(msg.id, plainResults(r));
      }
      case 'exec': {
        const results = await target(msg.tx).exec(msg.sql);
        return reply(msg.id, results.map(plainResults));
      }
      case 'begin':
        return begin(msg.id);
      case 'commit':
      case 'rollback': {
        const entry = open.get(msg.tx);
        if (!entry) throw new Error('Transaction is closed');
        return entry.end(msg.op === 'rollback', msg.id);
      }
      case 'close':
        await db.close();
        return reply(msg.id);
    }
  } catch (err) {
    port.postMessage({ id: msg.id, error: serializeError(err) } satisfies ThreadReply);
  }
}

/** What crosses the thread boundary of a result (structured clone): its data, not its methods. */
function plainResults(r: Results<unknown>): Results<unknown> {
  return { rows: r.rows, fields: r.fields, affectedRows: r.affectedRows, command: r.command, rowCount: r.rowCount } as Results<unknown>;
}

function target(tx: number | undefined): Queryable {
  if (tx === undefined) return db;
  const entry = open.get(tx);
  if (!entry) throw new Error('Transaction is closed');
  return entry.tx;
}

/** Replies to `id` with the transaction's number once BEGIN ran, then to the commit or rollback request. */
function begin(id: number): void {
  const txId = nextTx++;
  let replyTo = id;
  db.transaction(async (tx) => {
    const rollback = await new Promise<boolean>((resolve) => {
      open.set(txId, {
        tx,
        end: (rb, endId) => {
          open.delete(txId);
          replyTo = endId;
          resolve(rb);
        },
      });
      reply(id, txId);
    });
    if (rollback) throw ROLLBACK;
  }).then(
    () => reply(replyTo),
    (err: unknown) => (err === ROLLBACK ? reply(replyTo) : port.postMessage({ id: replyTo, error: serializeError(err) } satisfies ThreadReply)),
  );
}

/** Custom parsers are functions, which cannot cross threads: their types come back as text and are parsed by the caller. */
const rawParserCache = new Map<string, Record<number, (text: string) => string>>();
function rawParsers(types: number[]): Record<number, (text: string) => string> {
  const key = types.join(',');
  let parsers = rawParserCache.get(key);
  if (!parsers) rawParserCache.set(key, (parsers = Object.fromEntries(types.map((t) => [t, (text: string) => text]))));
  return parsers;
}

function reply(id: number, value?: unknown): void {
  port.postMessage({ id, value } satisfies ThreadReply, largeBuffers(value));
}

/** Large byte values (bytea) are moved, not copied, when they own their buffer. */
function largeBuffers(value: unknown): ArrayBuffer[] {
  const rows = (value as { rows?: unknown } | undefined)?.rows;
  if (!Array.isArray(rows)) return [];
  const buffers = new Set<ArrayBuffer>();
  for (const row of rows as object[]) {
    for (const v of Object.values(row) as unknown[]) {
      if (v instanceof Uint8Array && v.byteLength >= 65536 && v.buffer instanceof ArrayBuffer && v.byteLength === v.buffer.byteLength) buffers.add(v.buffer);
    }
  }
  return [...buffers];
}

function serializeError(err: unknown): ThreadError {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: ThreadError = { message: err.message, name: err.name, stack: err.stack, database: err instanceof messages.DatabaseError };
  for (const [key, v] of Object.entries(err)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
  }
  return out;
}
