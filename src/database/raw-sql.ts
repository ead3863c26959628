import pg from 'pg';
import type { PgliteWorker } from './pglite-worker.js';

/**
 * Bare SQL beside Prisma, for the audit log's hot path (the write-ahead and sealing), where
 * Prisma's query building and result mapping cost more than the statement. Postgres: a small
 * `pg` pool of its own on the same URL; PGlite: its own query API on the same instance. Only
 * `src/audit/write` uses it; its write-ahead statement also inserts the owners of Dify ids
 * (`dify_resource_owners`, read and pruned by `ResourceOwnerRepository`): one commit for both.
 */
export interface SqlQuery {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
}

/** One connection of its own: its session advisory locks last exactly as long as it does. */
export interface SqlSession extends SqlQuery {
  /** Runs `fn` in one transaction on this session (rolled back when `fn` throws). */
  transaction<T>(fn: (tx: SqlQuery) => Promise<T>): Promise<T>;
  /** False once the connection broke or was closed (its locks are gone with it). */
  readonly alive: boolean;
  close(): Promise<void>;
}

export interface RawSql extends SqlQuery {
  /** Postgres: the URL it connects to, for a worker thread that opens a pool of its own on it (see `SealThread`). */
  readonly connectionString?: string;
  /** A dedicated session (Postgres: a new connection, not one of the pool's). */
  session(): Promise<SqlSession>;
  /** Ends the pool and every session still open. Idempotent. */
  close(): Promise<void>;
}

const POOL_SIZE = 4;

export function postgresRawSql(connectionString: string, onError?: (err: Error) => void, poolSize = POOL_SIZE): RawSql {
  const pool = new pg.Pool({ connectionString, max: poolSize, connectionTimeoutMillis: 5000, keepAlive: true });
  pool.on('error', (err) => onError?.(err));
  const sessions = new Set<SqlSession>();
  let closed = false;
  return {
    connectionString,
    async query<R>(text: string, params?: unknown[]) {
      return (await pool.query(text, params)).rows as R[];
    },
    async session() {
      if (closed) throw new Error('raw SQL pool is closed');
      const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5000, keepAlive: true });
      let alive = true;
      const end = (err?: Error) => {
        if (!alive) return;
        alive = false;
        sessions.delete(session);
        if (err) onError?.(err);
        client.end().catch(() => undefined);
      };
      client.on('error', (err) => end(err));
      client.on('end', () => end());
      const run = async <R>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as R[];
      const session: SqlSession = {
        query: run,
        get alive() {
          return alive;
        },
        async transaction(fn) {
          await client.query('BEGIN');
          try {
            const result = await fn({ query: run });
            await client.query('COMMIT');
            return result;
          } catch (err) {
            await client.query('ROLLBACK').catch(() => end());
            throw err;
          }
        },
        async close() {
          end();
        },
      };
      await client.connect().catch((err: Error) => {
        alive = false;
        throw err;
      });
      sessions.add(session);
      return session;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...sessions].map((s) => s.close()));
      await pool.end();
    },
  };
}

/** PGlite is one session for the whole process (in its worker thread): a "session" is the instance itself. */
export function pgliteRawSql(db: PgliteWorker): RawSql {
  const query = async <R>(text: string, params?: unknown[]) => (await db.query<R>(text, params)).rows;
  const session: SqlSession = {
    query,
    get alive() {
      return !db.closed;
    },
    transaction: (fn) => db.transaction((tx) => fn({ query: async <R>(text: string, params?: unknown[]) => (await tx.query<R>(text, params)).rows })),
    async close() {},
  };
  return { query, session: async () => session, async close() {} };
}
