/**
 * Counting recorded audit events on Postgres, read-only and beside the gateway (the bench's own
 * connection): how many events a load produced per second, and how long the log took to catch up
 * once the load stopped (an upper bound of the seal lag). The table is `audit_events` unless
 * BENCH_AUDIT_TABLE names another (the gateway's audit schema may change; the bench must not).
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sleep } from './processes.js';

const TABLE = process.env.BENCH_AUDIT_TABLE ?? 'audit_events';
if (!/^[a-z_][a-z0-9_]*$/.test(TABLE)) throw new Error('BENCH_AUDIT_TABLE must be a plain table name');

export async function countEvents(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${TABLE}`);
    return Number(rows[0].n);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface AuditDuringLoad<T> {
  result: T;
  /** Events recorded while the load ran, per second of load. */
  eventsPerSecond: number;
  /** Events recorded after the load stopped, and how long until the count stood still. */
  backlog: number;
  drainedMs: number;
}

/**
 * Runs `load` (which lasts `seconds`) and counts events before, right after, and until the count
 * has not moved for `quietMs` (at most `maxDrainMs`). Undefined counts when the table is unreadable.
 */
export async function withAuditCount<T>(url: string, seconds: number, load: () => Promise<T>, quietMs = 1000, maxDrainMs = 15_000): Promise<AuditDuringLoad<T> | { result: T; unreadable: string }> {
  let before: number;
  try {
    before = await countEvents(url);
  } catch (error) {
    return { result: await load(), unreadable: (error as Error).message };
  }
  const result = await load();
  const stoppedAt = performance.now();
  const atStop = await countEvents(url);
  let last = atStop;
  let lastChange = stoppedAt;
  while (performance.now() - lastChange < quietMs && performance.now() - stoppedAt < maxDrainMs) {
    await sleep(100);
    const n = await countEvents(url);
    if (n !== last) {
      last = n;
      lastChange = performance.now();
    }
  }
  return { result, eventsPerSecond: (atStop - before) / seconds, backlog: last - atStop, drainedMs: last === atStop ? 0 : lastChange - stoppedAt };
}
