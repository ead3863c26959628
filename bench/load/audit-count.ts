/**
 * Counting sealed audit events on Postgres, read-only and beside the gateway (the bench's own
 * connection): how many events a load had sealed per second, how long the log took to catch up
 * once the load stopped, and, where the schema records both times (`received_at` at the
 * write-ahead, `recorded_at` at sealing), the seal lag of the events the load produced. The table
 * is `audit_events` unless BENCH_AUDIT_TABLE names another: the bench must not depend on more of
 * the audit schema than `seq` and `recorded_at`.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sleep } from './processes.js';

const TABLE = process.env.BENCH_AUDIT_TABLE ?? 'audit_events';
if (!/^[a-z_][a-z0-9_]*$/.test(TABLE)) throw new Error('BENCH_AUDIT_TABLE must be a plain table name');

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const lastSeq = (url: string) =>
  withClient(url, async (c) => Number((await c.query<{ n: string }>(`SELECT coalesce(max(seq), 0)::text AS n FROM ${TABLE}`)).rows[0].n));

const sealedAfter = (url: string, seq: number) =>
  withClient(url, async (c) => Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${TABLE} WHERE seq > $1`, [seq])).rows[0].n));

/** Seal lag p50/p99 (ms) of events after `seq`, or undefined when the table has no `received_at`. */
async function sealLag(url: string, seq: number): Promise<{ p50Ms: number; p99Ms: number } | undefined> {
  return withClient(url, async (c) => {
    const { rows: columns } = await c.query(`SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = 'received_at'`, [TABLE]);
    if (columns.length === 0) return undefined;
    const { rows } = await c.query<{ p50: number | null; p99: number | null }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99
         FROM (SELECT extract(epoch FROM recorded_at - received_at) * 1000 AS lag FROM ${TABLE} WHERE seq > $1 AND received_at IS NOT NULL) l`,
      [seq],
    );
    return rows[0].p50 === null || rows[0].p99 === null ? undefined : { p50Ms: Number(rows[0].p50), p99Ms: Number(rows[0].p99) };
  });
}

export interface AuditDuringLoad<T> {
  result: T;
  /** Events sealed while the load ran, per second of load. */
  eventsPerSecond: number;
  /** Events sealed after the load stopped, and how long until the count stood still. */
  backlog: number;
  drainedMs: number;
  /** Write-ahead to seal, where the schema records both times. */
  sealLag?: { p50Ms: number; p99Ms: number };
}

/**
 * Runs `load` (which lasts `seconds`) and counts sealed events right after it, then until the
 * count has not moved for `quietMs` (at most `maxDrainMs`). `unreadable` when the table is.
 */
export async function withAuditCount<T>(
  url: string,
  seconds: number,
  load: () => Promise<T>,
  quietMs = 1000,
  maxDrainMs = 15_000,
): Promise<AuditDuringLoad<T> | { result: T; unreadable: string }> {
  let before: number;
  try {
    before = await lastSeq(url);
  } catch (error) {
    return { result: await load(), unreadable: (error as Error).message };
  }
  const result = await load();
  const stoppedAt = performance.now();
  const atStop = await sealedAfter(url, before);
  let last = atStop;
  let lastChange = stoppedAt;
  while (performance.now() - lastChange < quietMs && performance.now() - stoppedAt < maxDrainMs) {
    await sleep(100);
    const n = await sealedAfter(url, before);
    if (n !== last) {
      last = n;
      lastChange = performance.now();
    }
  }
  const lag = await sealLag(url, before).catch(() => undefined);
  return { result, eventsPerSecond: atStop / seconds, backlog: last - atStop, drainedMs: last === atStop ? 0 : lastChange - stoppedAt, sealLag: lag };
}
