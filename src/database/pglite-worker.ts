import { messages, type ParserOptions, type QueryOptions, type Results } from '@electric-sql/pglite';
import { Worker } from 'node:worker_threads';
import type { ThreadError, ThreadOptions, ThreadReply, ThreadRequest } from './pglite-thread.js';

/**
 * PGlite in a worker thread (./pglite-thread.ts): its WASM Postgres would otherwise run on the
 * event loop and stall every request while it works. This is the main thread's side: exactly the
 * part of PGlite's API that our code and `PrismaPGlite` call, answered over the worker's port.
 */
export interface PgliteQueryable {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
}

/** An interactive transaction: the worker holds it open, nothing else runs until it ends. */
export interface PgliteTx extends PgliteQueryable {
  rollback(): Promise<void>;
  readonly closed: boolean;
}

export interface PgliteWorker extends PgliteQueryable {
  readonly waitReady: Promise<void>;
  /** True once closed or once the worker stopped: every call then fails at once. */
  readonly closed: boolean;
  /** PGlite's semantics: committed when `fn` resolves, rolled back when it throws or called `rollback()`. */
  transaction<T>(fn: (tx: PgliteTx) => Promise<T>): Promise<T>;
  /** Closes PGlite (flushing it to disk) and ends the thread. Idempotent. */
  close(): Promise<void>;
  /** Stops the thread without closing PGlite (tests: a crashed worker). */
  kill(): Promise<void>;
}

/** The thread's entry beside this file: compiled .js in dist/, the .ts source under jest and tsx. */
const THREAD = new URL(import.meta.url.endsWith('.ts') ? './pglite-thread.ts' : './pglite-thread.js', import.meta.url);

/** Postgres settings for the embedded database (see ARCHITECTURE.md: the 128 MB default buffer pool was most of its RSS). */
export const PGLITE_SETTINGS = ['shared_buffers=16MB'];

/**
 * A stopped worker fails its callers closed, with a connection-failure SQLSTATE (08006) that
 * `translatePrismaError` / `translateDriverError` report as the database being unavailable.
 */
function stoppedError(reason: string, code = '08006'): Error {
  return Object.assign(new messages.DatabaseError(`PGlite ${reason}`, 0, 'error'), { severity: 'FATAL', code });
}

/** PGlite's `DatabaseError` again (the adapter maps only that class), with every field it had. */
function toError(e: ThreadError): Error {
  const { message, name, stack, database, ...fields } = e;
  const err: Error = database ? new messages.DatabaseError(message, Number(fields.length ?? 0), 'error') : new Error(message);
  Object.assign(err, fields);
  if (!database && name) err.name = name;
  if (stack) err.stack = stack;
  return err;
}

type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;

const rawTypesOf = new WeakMap<ParserOptions, number[]>();

/** The custom parsers' types (the worker returns those columns as text), and options the worker cannot take. */
function workerQueryOptions(options: QueryOptions | undefined): { rowMode?: 'array' | 'object'; rawTypes?: number[] } {
  if (!options) return {};
  if (options.serializers || options.blob || options.onNotice || options.paramTypes) {
    throw new Error('PGlite worker: serializers, blob, onNotice and paramTypes are not supported');
  }
  let rawTypes: number[] | undefined;
  if (options.parsers) {
    rawTypes = rawTypesOf.get(options.parsers);
    if (!rawTypes) rawTypesOf.set(options.parsers, (rawTypes = Object.keys(options.parsers).map(Number)));
  }
  return { rowMode: options.rowMode, rawTypes };
}

/** Runs the custom parsers on the columns the worker left as text (null stays null, as in PGlite). */
function applyParsers<T>(result: Results<T>, options: QueryOptions | undefined): Results<T> {
  const parsers = options?.parsers;
  if (!parsers) return result;
  const seen = new Set<string>();
  // From the last column back: with a repeated name in object mode, PGlite keeps the last column's value.
  for (let i = result.fields.length - 1; i >= 0; i--) {
    const field = result.fields[i];
    const key = options.rowMode === 'array' ? i : field.name;
    if (typeof key === 'string') {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    const parse = parsers[field.dataTypeID] as ((text: string, typeId: number) => unknown) | undefined;
    if (!parse) continue;
    for (const row of result.rows as Record<string | number, unknown>[]) {
      const v = row[key];
      if (v !== null && v !== undefined) row[key] = parse(v as string, field.dataTypeID);
    }
  }
  return result;
}

export function startPgliteWorker(dataDir: string, settings: string[] = PGLITE_SETTINGS): PgliteWorker {
  const worker = new Worker(THREAD, { workerData: { dataDir, settings } satisfies ThreadOptions });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let stopped: Error | undefined;
  let closing: Promise<void> | undefined;
  let ready!: { resolve: () => void; reject: (err: Error) => void };
  const waitReady = new Promise<void>((resolve, reject) => (ready = { resolve, reject }));
  waitReady.catch(() => undefined); // a failed open is reported to whoever awaits it

  let isReady = false;
  // Idle, the thread must not keep the process alive (PGlite in-process did not); opening or a call in flight must.
  const refWhileBusy = () => (isReady && pending.size === 0 ? worker.unref() : worker.ref());
  const stop = (err: Error) => {
    if (stopped) return;
    stopped = err;
    ready.reject(err);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (msg: ThreadReply) => {
    if ('ready' in msg) {
      isReady = true;
      refWhileBusy();
      return msg.ready ? ready.resolve() : ready.reject(toError(msg.error));
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    refWhileBusy();
    if (msg.error) p.reject(toError(msg.error));
    else p.resolve(msg.value);
  });
  worker.on('error', (err) => stop(stoppedError(`worker failed: ${err.message}`)));
  worker.on('exit', (code) => stop(stoppedError(`worker stopped (exit code ${code})`)));

  const call = (request: WithoutId<ThreadRequest>): Promise<unknown> => {
    if (stopped) return Promise.reject(stopped);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      refWhileBusy();
      worker.postMessage({ ...request, id } as ThreadRequest);
    });
  };

  const queryable = (tx?: number, isClosed = () => false): PgliteQueryable => ({
    async query<T>(sql: string, params?: unknown[], options?: QueryOptions) {
      if (isClosed()) throw new Error('Transaction is closed');
      const result = (await call({ op: 'query', tx, sql, params, ...workerQueryOptions(options) })) as Results<T>;
      return applyParsers(result, options);
    },
    async exec(sql: string) {
      if (isClosed()) throw new Error('Transaction is closed');
      return (await call({ op: 'exec', tx, sql })) as Results[];
    },
  });

  return {
    ...queryable(),
    waitReady,
    get closed() {
      return stopped !== undefined;
    },
    async transaction<T>(fn: (tx: PgliteTx) => Promise<T>): Promise<T> {
      const txId = (await call({ op: 'begin' })) as number;
      let ended: Promise<unknown> | undefined;
      const end = (op: 'commit' | 'rollback') => (ended ??= call({ op, tx: txId }));
      const tx: PgliteTx = {
        ...queryable(txId, () => ended !== undefined),
        rollback: () => {
          // PrismaPGlite calls this without awaiting it: a failure (a dead worker) must not become an
          // unhandled rejection; it still reaches whoever awaits it, and `transaction` itself.
          const done = end('rollback').then(() => undefined);
          done.catch(() => undefined);
          return done;
        },
        get closed() {
          return ended !== undefined;
        },
      };
      let result: T;
      try {
        result = await fn(tx);
      } catch (err) {
        await end('rollback').catch(() => undefined);
        throw err;
      }
      await end('commit'); // or the rollback `fn` already asked for
      return result;
    },
    close() {
      closing ??= (async () => {
        try {
          if (!stopped) await call({ op: 'close' });
        } finally {
          stop(stoppedError('is closed', '08003'));
          await worker.terminate();
        }
      })();
      return closing;
    },
    async kill() {
      await worker.terminate();
    },
  };
}
