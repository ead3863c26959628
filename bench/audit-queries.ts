/**
 * `npm run bench:audit-queries`: compliance queries over a large audit log in PostgreSQL.
 *
 * Seeds BENCH_EVENTS events (default 1,000,000: about two per call, spread over 30 days, 200
 * callers, 8 apps, 20,000 end users, realistic outcomes; see bench/audit-seed.ts: the bulk is
 * generated in SQL, the newest 150,000 go through the chain code as a valid signed chain) into a
 * fresh database on the local server (or TEST_DATABASE_ADMIN_URL). Then runs each typical query
 * BENCH_RUNS times through the real query service (each run also records its own `audit.query`
 * event, as the API does) and prints p50/p95, the export rate (CSV and NDJSON) and the
 * verification rate (of the signed tail). The database is dropped at the end unless BENCH_KEEP=1.
 * BENCH_DATABASE=name seeds that database once and reuses it on later runs (never dropped;
 * migrations added since are applied on open, and their time is printed). BENCH_ONLY=stats runs
 * only the queries whose label starts with that (no export, no verification). No assertions.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import pg from 'pg';
import type { StoredEvent } from '../src/audit/audit-event.js';
import { createAuditLog } from '../src/audit/audit-log.js';
import { AuditQueryService, eventFieldsOf } from '../src/audit/read/audit-query.service.js';
import type { AuditEventsQueryDto, ExportFormat } from '../src/audit/read/dto/audit-events-query.dto.js';
import { DEFAULT_STATS_PAGE_SIZE, MAX_STATS_PAGE_SIZE, type AuditStatsQueryDto } from '../src/audit/read/dto/audit-report-query.dto.js';
import { decodeStatsCursor, encodeStatsCursor } from '../src/audit/read/stats-cursor.js';
import type { StatsDimension } from '../src/audit/read/audit-stats-query.js';
import { Secret } from '../src/config/secret.js';
import { openDatabase } from '../src/database/open-database.js';
import { createTestDatabase, MIGRATIONS_DIR, testAdminUrl, type TestDatabase } from '../test/support/database.js';
import { APPS, CALLERS, DAYS, seedEvents } from './audit-seed.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const ONLY = process.env.BENCH_ONLY;
const RUNS_SAMPLE_EVERY = 5_000;
const KEYS = [new Secret('bench-signing-key-0123456789abcdef0123456789')];

/** The database: a fresh one (dropped at the end unless BENCH_KEEP=1), or BENCH_DATABASE, created and seeded once, then reused as is. */
async function benchDatabase(): Promise<TestDatabase & { reused: boolean }> {
  const name = process.env.BENCH_DATABASE;
  if (!name) return { ...(await createTestDatabase('postgres')), reused: false };
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error('BENCH_DATABASE must be a plain lower-case name');
  const admin = new pg.Client({ connectionString: await testAdminUrl() });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  if (!exists) await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(await testAdminUrl());
  url.pathname = `/${name}`;
  return { kind: 'postgres', url: url.toString(), pgliteDir: '', migrationsDir: MIGRATIONS_DIR, drop: async () => undefined, reused: exists };
}

/** Events spread over the whole chain (every 5000th seq, preferring finished calls with a message id), read back from the database. */
async function readSamples(url: string): Promise<StoredEvent[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const seqs = Array.from({ length: Math.floor(EVENTS / RUNS_SAMPLE_EVERY) }, (_, i) => [(i + 1) * RUNS_SAMPLE_EVERY, (i + 1) * RUNS_SAMPLE_EVERY + 1]).flat();
  const rows = (
    await client.query<{ seq: string; id: string; call_id: string; request_id: string; end_user: string; message_id: string | null; type: string }>(
      `SELECT seq, id, call_id, request_id, end_user, message_id, type FROM audit_events WHERE seq = ANY($1::bigint[]) AND type = 'call.finished' ORDER BY seq`,
      [seqs],
    )
  ).rows;
  await client.end();
  return rows.map(
    (r) =>
      ({ seq: Number(r.seq), id: r.id, callId: r.call_id, requestId: r.request_id, endUser: r.end_user, messageId: r.message_id }) as unknown as StoredEvent,
  );
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function measure(run: (i: number) => Promise<number | void>): Promise<{ p50: number; p95: number; rows: number }> {
  await run(-1); // warm-up
  const latencies: number[] = [];
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    rows += (await run(i)) ?? 0;
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  return { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), rows: rows / RUNS };
}

/** Times a query through the service (what the API does) and, when given, the database work alone. */
async function time(label: string, service: (i: number) => Promise<number | void>, database?: (i: number) => Promise<unknown>): Promise<void> {
  if (ONLY && !label.startsWith(ONLY)) return;
  const s = await measure(service);
  const d = database ? await measure(async (i) => void (await database(i))) : null;
  const ms = (v: number) => v.toFixed(1).padStart(7);
  console.log(
    `  ${label.padEnd(46)} p50 ${ms(s.p50)} ms  p95 ${ms(s.p95)} ms ${d ? `| db p50 ${ms(d.p50)} ms  p95 ${ms(d.p95)} ms` : ' '.repeat(37)} ${s.rows.toFixed(0).padStart(5)} rows`,
  );
}

/** A response that counts bytes and applies backpressure like a socket (16 KiB buffer). */
function sink(): ServerResponse & { bytes: number } {
  const out = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      out.bytes += chunk.length;
      setImmediate(done);
    },
  }) as Writable & { bytes: number; statusCode: number; setHeader: () => void };
  out.bytes = 0;
  out.statusCode = 200;
  out.setHeader = () => undefined;
  return out as unknown as ServerResponse & { bytes: number };
}

/** The highest seq of the seeded events (the bench's own audit.query events come after, at real time). */
async function seededUpTo(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const [{ n }] = (await client.query<{ n: string | null }>(`SELECT max(seq) AS n FROM audit_events WHERE type LIKE 'call.%'`)).rows;
  await client.end();
  return Number(n ?? 0);
}

/** The time of the newest seeded event: queries are placed relative to it, so a kept database answers the same. */
async function newestSeedTime(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const [{ at }] = (await client.query<{ at: Date }>(`SELECT recorded_at AS at FROM audit_events WHERE seq = $1`, [EVENTS])).rows;
  await client.end();
  return at.getTime();
}

async function main(): Promise<void> {
  const testDb = await benchDatabase();
  const t0 = performance.now();
  const db = await openDatabase(testDb);
  if (db.applied.length) console.log(`applied migrations ${db.applied.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const log = createAuditLog(db, {
    storeText: false,
    signingKeys: KEYS,
    retentionDays: 0,
    checkpointIntervalMs: 60_000,
    batch: { maxSize: 256, maxWaitMs: 0 },
    writeTimeoutMs: 30_000,
    seal: { intervalMs: 100, batchSize: 5_000, maxLagMs: 60_000 },
  });
  try {
    console.log(`audit queries on PostgreSQL, ${EVENTS} events over ${DAYS} days; ${RUNS} runs per query`);
    const seeded = await seededUpTo(testDb.url!);
    if (seeded < EVENTS) {
      if (seeded > 0) throw new Error(`database ${testDb.url} holds ${seeded} events, fewer than BENCH_EVENTS: drop it or choose another BENCH_DATABASE`);
      await seedEvents(testDb.url!, EVENTS, Date.now() - DAYS * 86_400_000, Date.now(), log.signer);
    } else console.log(`reusing ${seeded} events`);
    const END = await newestSeedTime(testDb.url!);
    const samples = await readSamples(testDb.url!);
    await log.maintenance.checkpoint();
    const queries = new AuditQueryService(log.read, log.service, log.verifier);
    const actor = { keyId: null, name: 'bench', requestId: 'bench' };
    const iso = (ms: number) => new Date(ms).toISOString();
    const sample = (i: number) => samples[(i + samples.length) % samples.length];
    const rows = (page: { data: unknown[] }) => page.data.length;

    console.log('\nqueries: through AuditQueryService (each also commits its own audit.query event) | the database read alone');
    const dbSearch = async (q: AuditEventsQueryDto) => {
      const range = q.from || q.to ? await log.read.seqRange(q.from ? new Date(q.from) : undefined, q.to ? new Date(q.to) : undefined) : {};
      if (!range) return [];
      const filter = { ...range, ...eventFieldsOf(q) };
      return log.read.search(filter, { limit: (q.limit ?? 50) + 1 });
    };
    const list = (label: string, query: (i: number) => AuditEventsQueryDto) =>
      time(
        label,
        async (i) => rows(await queries.list(query(i), actor)),
        (i) => dbSearch(query(i)),
      );
    await list('newest 50 events', () => ({}));
    await list('one caller, newest 50', (i) => ({ caller: CALLERS[(i + 200) % 200] }));
    await list('one caller, last 7 days, 50', (i) => ({ caller: CALLERS[(i + 200) % 7], from: iso(END - 7 * 86_400_000) }));
    await list('one app, outcome upstream_error, 50', (i) => ({ app: APPS[(i + 8) % 8], outcome: 'upstream_error' }));
    await list('status 403 (rare), 50', () => ({ status: 403 }));
    await list('one end user, up to 200 events', (i) => ({ user: sample(i).endUser!, limit: 200 }));
    await list('a request id', (i) => ({ request_id: sample(i).requestId! }));
    await list('a conversation id, up to 200 events', (i) => ({ conversation_id: `conv-${(i + 100) * 97}`, limit: 200 }));
    await list('a message id', (i) => ({ message_id: sample(i).messageId ?? 'none' }));
    // Ids and values nobody used: the planner must not walk the whole seq index looking for them.
    await list('a conversation id with no events', (i) => ({ conversation_id: `conv-none-${i}`, limit: 200 }));
    await list('a request id with no events', (i) => ({ request_id: `req-none-${i}` }));
    await list('a message id with no events', (i) => ({ message_id: `msg-none-${i}` }));
    await list('an end user with no events', (i) => ({ user: `user-none-${i}` }));
    await list('a status nobody got (418), 50', () => ({ status: 418 }));
    await list('a route nobody called, 50', (i) => ({ route: `/none-${i}` }));
    await list('an outcome nobody had (stream_error), 50', () => ({ outcome: 'stream_error' }));
    await list('one app, outcome timeout (rare), 50', (i) => ({ app: APPS[(i + 8) % 8], outcome: 'timeout' }));
    await list('a one-hour window two weeks ago, 50', (i) => ({
      from: iso(END - 14 * 86_400_000 + i * 3_600_000),
      to: iso(END - 14 * 86_400_000 + (i + 2) * 3_600_000),
    }));
    await list('one route over the last day, 50', () => ({ route: '/files/upload', from: iso(END - 86_400_000) }));
    await list('one caller, the 5th page of 200 (cursor)', (i) => ({
      caller: CALLERS[(i + 200) % 5],
      limit: 200,
      cursor: Buffer.from(`seq:${Math.floor(EVENTS * 0.9)}`).toString('base64url'),
    }));
    await time(
      'a call with its events (GET /audit/events/{id})',
      async (i) => (await queries.get(sample(i).id, actor)).events.length,
      (i) => log.read.findByCall(sample(i).callId!),
    );
    const stats = (label: string, query: (i: number) => AuditStatsQueryDto) =>
      time(
        label,
        async (i) => (await queries.stats(query(i), actor)).data.length,
        (i) => {
          const q = query(i);
          const groupBy = (q.group_by?.split(',') ?? ['day', 'caller', 'app']) as StatsDimension[];
          const page = { limit: (q.limit ?? DEFAULT_STATS_PAGE_SIZE) + 1, after: q.cursor ? decodeStatsCursor(q.cursor, groupBy) : undefined };
          return log.read.stats({ from: q.from ? new Date(q.from) : undefined, callerKeyId: q.caller }, groupBy, page);
        },
      );
    await stats('stats: last day by day, caller, app', () => ({ from: iso(END - 86_400_000) }));
    await stats('stats: last 7 days by day, caller, app', () => ({ from: iso(END - 7 * 86_400_000) }));
    // The worst start for the partial day: mid-day, about as many hours inside the window as outside it.
    const midDay = Math.floor((END - 7 * 86_400_000) / 86_400_000) * 86_400_000 + 12.5 * 3_600_000;
    await stats('stats: 7 days from mid-day by day, caller, app', () => ({ from: iso(midDay) }));
    await stats('stats: 30 days by day, caller, app', () => ({ group_by: 'day,caller,app' }));
    const midMonth = new Date(END - 15 * 86_400_000).toISOString().slice(0, 10);
    await stats('stats: 30 days by day, caller, app, a page mid-month', (i) => ({
      cursor: encodeStatsCursor(['day', 'caller', 'app'], { day: midMonth, callerKeyId: CALLERS[(i + 200) % 200], appAlias: APPS[3] }),
    }));
    await stats('stats: 30 days by day, caller, app, 10,000 a page', () => ({ limit: MAX_STATS_PAGE_SIZE }));
    await stats('stats: 30 days by caller, app', () => ({ group_by: 'caller,app' }));
    await stats('stats: 30 days by day, app', () => ({ group_by: 'day,app' }));
    await stats('stats: 30 days by app', () => ({ group_by: 'app' }));
    await stats('stats: one caller, 30 days by day', (i) => ({ caller: CALLERS[(i + 200) % 200], group_by: 'day' }));

    if (ONLY) return;
    console.log('\nexport (keyset batches of 1000, backpressure from a 16 KiB socket buffer)');
    for (const [format, days] of [
      ['ndjson', 3],
      ['csv', 3],
    ] as [ExportFormat, number][]) {
      const out = sink();
      const t0 = performance.now();
      await queries.export({ format, from: iso(END - days * 86_400_000) }, actor, out);
      const seconds = (performance.now() - t0) / 1000;
      const exported = Math.round((EVENTS * days) / DAYS);
      console.log(
        `  ${format.padEnd(6)} last ${days} days: ~${exported} rows, ${(out.bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s = ${(exported / seconds).toFixed(0)} rows/s, ${(out.bytes / 1e6 / seconds).toFixed(1)} MB/s, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
      );
    }

    console.log('\nverification');
    // The queries' own audit.query events (and any a killed run left in the inbox of a kept database) are sealed first:
    // the bench runs no sequencer loop, and verification fails on events left unsealed past the lag bound.
    await log.sequencer.sealNow();
    for (const count of [100_000]) {
      const t0 = performance.now();
      const report = await log.verifier.verify({ fromSeq: EVENTS - count + 1 });
      const seconds = (performance.now() - t0) / 1000;
      console.log(
        `  last ${count} events: ${report.ok ? 'OK' : `FAILED (${report.problem?.kind})`}, ${report.checked} checked in ${seconds.toFixed(1)} s = ${(report.checked / seconds).toFixed(0)} events/s`,
      );
    }
  } finally {
    await log.close();
    await db.close();
    if (process.env.BENCH_KEEP === '1' || testDb.reused || process.env.BENCH_DATABASE) console.log(`kept database ${testDb.url}`);
    else await testDb.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
