/**
 * Domain errors the repositories throw instead of the driver's or Prisma's (Prisma's own are
 * translated in ./database.errors.ts). Their messages are short and fixed: drivers' and Prisma's
 * messages sometimes quote values, which must not reach logs or responses. The original error
 * stays available as `cause` for debugging. Free of Prisma, so a worker thread can load it cheaply.
 */

/** A unique constraint rejected an insert (a second key with the same hash, a reused id). */
export class DuplicateKeyError extends Error {
  constructor(
    /** What was being written, e.g. `api key`. */
    readonly entity: string,
    /**
     * What the driver reports as violated, for logs: the index name on Postgres
     * (`api_keys_hash_key`), the column list on PGlite (`hash`); undefined when it reports nothing.
     */
    readonly constraint: string | undefined,
    options?: ErrorOptions,
  ) {
    super(`duplicate ${entity}${constraint ? ` (${constraint})` : ''}`, options);
    this.name = 'DuplicateKeyError';
  }
}

/** The database could not be reached or did not answer in time. */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly code: string | undefined,
    options?: ErrorOptions,
  ) {
    super(`database unavailable${code ? ` (${code})` : ''}`, options);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * SQLSTATE classes for a lost or refused server: 08 connection exception, 57P01-57P03
 * (administrator shutdown, crash shutdown, cannot connect now), 53300 too many connections,
 * 55000 for a database that is not accepting connections (the only way our queries meet it).
 */
export function isUnavailableSqlState(state: string): boolean {
  return state.startsWith('08') || /^57P0[123]$/.test(state) || state === '53300' || state === '55000';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are `UUID` columns: a non-UUID can match no row (and would make Postgres raise 22P02). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * The same translation for bare driver errors (`RawSql`: `pg` or PGlite): a SQLSTATE or socket
 * error that means the database cannot be reached becomes `DatabaseUnavailableError`, a unique
 * violation `DuplicateKeyError`; anything else is returned as it is.
 */
export function translateDriverError(err: unknown, entity = 'audit event'): unknown {
  if (!(err instanceof Error) || err instanceof DatabaseUnavailableError || err instanceof DuplicateKeyError) return err;
  const { code, constraint } = err as { code?: unknown; constraint?: unknown };
  if (typeof code === 'string') {
    if (code === '23505') return new DuplicateKeyError(entity, typeof constraint === 'string' ? constraint : undefined, { cause: err });
    if (UNAVAILABLE_ERRNOS.has(code) || isUnavailableSqlState(code)) return new DatabaseUnavailableError(code, { cause: err });
    return err;
  }
  // `pg` reports a lost or refused connection without a code.
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(err.message)) {
    return new DatabaseUnavailableError('connection', { cause: err });
  }
  return err;
}
