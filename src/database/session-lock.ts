import pg from 'pg';

/** Releases a held session lock (and stops re-acquiring it). Idempotent. */
export type ReleaseSessionLock = () => Promise<void>;

const RETRY_MS = 1000;

/**
 * Holds a Postgres session-level advisory lock `(key1, key2)` on a dedicated connection for as
 * long as the process wants it. The lock lives exactly as long as the session: when the process
 * dies (even by SIGKILL) its connection closes and the server releases the lock, which is how
 * other replicas tell a dead gateway from a live one. If the connection drops while we run, the
 * lock is re-acquired as soon as the server answers again (`onLost` reports the gap).
 */
export async function holdPostgresSessionLock(url: string, key: [number, number], onLost: (err: Error) => void = () => undefined): Promise<ReleaseSessionLock> {
  let client: pg.Client | undefined;
  let released = false;
  let retry: NodeJS.Timeout | undefined;

  const acquire = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, keepAlive: true });
    next.on('error', (err) => lost(next, err));
    next.on('end', () => lost(next, new Error('session lock connection ended')));
    await next.connect();
    await next.query('SELECT pg_advisory_lock($1::int, $2::int)', key);
    if (released) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
  };

  const lost = (which: pg.Client, err: Error): void => {
    if (released || which !== client) return;
    client = undefined;
    onLost(err);
    which.end().catch(() => undefined);
    const again = (): void => {
      retry = setTimeout(() => {
        acquire().catch(() => !released && again());
      }, RETRY_MS);
      retry.unref();
    };
    again();
  };

  await acquire();
  return async () => {
    if (released) return;
    released = true;
    clearTimeout(retry);
    const held = client;
    client = undefined;
    await held?.end().catch(() => undefined);
  };
}
