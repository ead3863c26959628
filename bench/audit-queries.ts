/**
 * `npm run bench:audit-queries`: compliance queries over a large audit log in PostgreSQL.
 *
 * Seeds BENCH_EVENTS events (default 1,000,000: 500,000 calls, started and finished, spread over
 * 30 days, 200 callers, 8 apps, 20,000 end users, realistic outcomes) into a fresh database on
 * the local server (or TEST_DATABASE_ADMIN_URL), as a valid signed chain. Then runs each typical
 * query BENCH_RUNS times through the real query service (each run also records its own
 * `audit.query` event, as the API does) and prints p50/p95, the export rate (CSV and NDJSON) and
 * the verification rate. The database is dropped at the end unless BENCH_KEEP=1. No assertions.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import pg from 'pg';
import { linkEvents, toEventBody } from '../src/audit/write/audit-chain.js';
import type { EventDraft, Outcome, StoredEvent } from '../src/audit/audit-event.js';
import { createAuditLog } from '../src/audit/audit-log.js';
import { AuditQueryService } from '../src/audit/read/audit-query.service.js';
import type { AuditEventsQueryDto, ExportFormat } from '../src/audit/read/dto/audit-events-query.dto.js';
import { Secret } from '../src/config/secret.js';
import { openDatabase } from '../src/database/open-database.js';
import { createTestDatabase } from '../test/support/database.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const DAYS = 30;
const CALLERS = Array.from({ length: 200 }, () => randomUUID());
const APPS = ['support', 'billing', 'hr-bot', 'legal', 'sales', 'search', 'summaries', 'default'];
const KEYS = [new Secret('bench-signing-key-0123456789abcdef0123456789')];
const END = Date.now();
const START = END - DAYS * 86_400_000;

/** Deterministic pseudo-random numbers, so runs are comparable. */
let state = 42;
const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const pick = <T>(items: readonly T[], skew = 1) => items[Math.floor(items.length * random() ** skew)];

function outcome(): { outcome: Outcome; status: number; upstream: number | null; code: string | null } {
  const r = random();
  if (r < 0.93) return { outcome: 'success', status: 200, upstream: 200, code: null };
  if (r < 0.97) return { outcome: 'client_error', status: 400, upstream: 400, code: 'invalid_param' };
  if (r < 0.985) return { outcome: 'upstream_error', status: 502, upstream: 503, code: 'dify_unavailable' };
  if (r < 0.995) return { outcome: 'rejected', status: 403, upstream: null, code: 'forbidden' };
  if (r < 0.998) return { outcome: 'timeout', status: 504, upstream: null, code: 'dify_timeout' };
  return { outcome: 'cancelled', status: 499, upstream: 200, code: 'client_closed' };
}

/** One call: its `call.started` (unless refused) and `call.finished` drafts. */
function call(n: number): EventDraft[] {
  const caller = pick(CALLERS, 2);
  const r = random();
  const route = r < 0.7 ? '/chat-messages' : r < 0.9 ? '/workflows/run' : r < 0.95 ? '/messages' : '/files/upload';
  const identity = {
    instanceId: null,
    callId: randomUUID(),
    requestId: `req-${n}`,
    callerKeyId: caller,
    callerName: `team-${CALLERS.indexOf(caller)}`,
    appAlias: pick(APPS, 1.5),
    method: route === '/messages' ? 'GET' : 'POST',
    route,
    endUser: `user-${Math.floor(20_000 * random())}`,
  };
  const end = outcome();
  const conversationId = route === '/chat-messages' ? `conv-${Math.floor(100_000 * random())}` : null;
  const finished: EventDraft = {
    id: randomUUID(),
    type: 'call.finished',
    ...identity,
    status: end.status,
    upstreamStatus: end.upstream,
    outcome: end.outcome,
    errorCode: end.code,
    latencyMs: 200 + Math.floor(3000 * random()),
    attempts: 1,
    conversationId,
    messageId: end.outcome === 'success' && route === '/chat-messages' ? randomUUID() : null,
    totalTokens: end.outcome === 'success' ? 50 + Math.floor(2000 * random()) : null,
    totalPrice: end.outcome === 'success' ? (random() / 100).toFixed(7) : null,
    currency: end.outcome === 'success' ? 'USD' : null,
  };
  if (end.outcome === 'rejected') return [finished];
  return [{ id: randomUUID(), type: 'call.started', ...identity, conversationId }, finished];
}

async function insert(client: pg.Client, events: StoredEvent[]): Promise<void> {
  const col = <T>(f: (e: StoredEvent) => T) => events.map(f);
  await client.query(
    `INSERT INTO audit_events (seq, id, type, recorded_at, call_id, request_id, caller_key_id, caller_name, app_alias, method, route, end_user,
       status, upstream_status, outcome, error_code, latency_ms, attempts, conversation_id, message_id, total_tokens, total_price, currency, prev_hash, hash, key_id, signature)
     SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[], $5::uuid[], $6::text[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
       $13::int[], $14::int[], $15::text[], $16::text[], $17::int[], $18::int[], $19::text[], $20::text[], $21::int[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::text[])`,
    [
      col((e) => String(e.seq)), col((e) => e.id), col((e) => e.type), col((e) => e.recordedAt.toISOString()), col((e) => e.callId), col((e) => e.requestId),
      col((e) => e.callerKeyId), col((e) => e.callerName), col((e) => e.appAlias), col((e) => e.method), col((e) => e.route), col((e) => e.endUser),
      col((e) => e.status), col((e) => e.upstreamStatus), col((e) => e.outcome), col((e) => e.errorCode), col((e) => e.latencyMs), col((e) => e.attempts),
      col((e) => e.conversationId), col((e) => e.messageId), col((e) => e.totalTokens), col((e) => e.totalPrice), col((e) => e.currency),
      col((e) => e.prevHash), col((e) => e.hash), col((e) => e.keyId), col((e) => e.signature),
    ],
  );
}

/** Seeds the chain: events linked in groups of 50 that share a time, times spread over 30 days. */
async function seed(url: string, signer: ReturnType<typeof createAuditLog>['signer']): Promise<StoredEvent[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const samples: StoredEvent[] = [];
  let head = { seq: 0, hash: '0'.repeat(64), recordedAt: null as Date | null };
  let pending: StoredEvent[] = [];
  let calls = 0;
  const started = performance.now();
  while (head.seq < EVENTS) {
    const drafts: EventDraft[] = [];
    while (drafts.length < 50) drafts.push(...call(calls++));
    const at = new Date(START + ((END - START) * head.seq) / EVENTS);
    const linked = linkEvents(head, drafts.map(toEventBody), at, signer);
    const last = linked[linked.length - 1];
    head = { seq: last.seq, hash: last.hash, recordedAt: last.recordedAt };
    pending.push(...linked);
    if (head.seq % 5000 < 50) samples.push(linked.find((e) => e.type === 'call.finished' && e.messageId) ?? linked[linked.length - 1]);
    if (pending.length >= 5000) {
      await insert(client, pending);
      pending = [];
      // A signed checkpoint every ~20,000 events, as the gateway's timer would leave behind.
      if (head.seq % 20_000 < 5050) {
        const cp = { id: randomUUID(), seq: head.seq, hash: head.hash, kind: 'periodic' as const, createdAt: head.recordedAt! };
        const sig = signer.signCheckpoint(cp);
        await client.query('INSERT INTO audit_checkpoints (id, seq, hash, kind, created_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7)', [cp.id, cp.seq, cp.hash, cp.kind, cp.createdAt, sig?.keyId, sig?.signature]);
      }
      if (head.seq % 100_000 < 50) process.stdout.write(`  seeded ${head.seq} events (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    }
  }
  if (pending.length) await insert(client, pending);
  const seconds = (performance.now() - started) / 1000;
  console.log(`seeded ${head.seq} events (${calls} calls) in ${seconds.toFixed(0)} s (${(head.seq / seconds).toFixed(0)} events/s, hashing and signing included)`);
  await client.query('ANALYZE audit_events');
  const size = await client.query(`SELECT pg_size_pretty(pg_total_relation_size('audit_events')) AS total, pg_size_pretty(pg_indexes_size('audit_events')) AS indexes`);
  console.log(`table audit_events: ${size.rows[0].total} (indexes ${size.rows[0].indexes})`);
  await client.end();
  return samples;
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
  const s = await measure(service);
  const d = database ? await measure(async (i) => void (await database(i))) : null;
  const ms = (v: number) => v.toFixed(1).padStart(7);
  console.log(`  ${label.padEnd(46)} p50 ${ms(s.p50)} ms  p95 ${ms(s.p95)} ms ${d ? `| db p50 ${ms(d.p50)} ms  p95 ${ms(d.p95)} ms` : ' '.repeat(37)} ${s.rows.toFixed(0).padStart(5)} rows`);
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

async function main(): Promise<void> {
  const testDb = await createTestDatabase('postgres');
  const db = await openDatabase(testDb);
  const log = createAuditLog(db, { storeText: false, signingKeys: KEYS, retentionDays: 0, checkpointIntervalMs: 60_000, batch: { maxSize: 256, maxWaitMs: 0 }, writeTimeoutMs: 30_000, seal: { intervalMs: 100, batchSize: 5_000, maxLagMs: 60_000 } });
  try {
    console.log(`audit queries on PostgreSQL, ${EVENTS} events over ${DAYS} days; ${RUNS} runs per query`);
    const samples = await seed(testDb.url!, log.signer);
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
      const filter = { ...range, callerKeyId: q.caller, appAlias: q.app, route: q.route, outcome: q.outcome, status: q.status, requestId: q.request_id, conversationId: q.conversation_id, messageId: q.message_id, endUser: q.user };
      return log.read.search(filter, { limit: (q.limit ?? 50) + 1 });
    };
    const list = (label: string, query: (i: number) => AuditEventsQueryDto) => time(label, async (i) => rows(await queries.list(query(i), actor)), (i) => dbSearch(query(i)));
    await list('newest 50 events', () => ({}));
    await list('one caller, newest 50', (i) => ({ caller: CALLERS[(i + 200) % 200] }));
    await list('one caller, last 7 days, 50', (i) => ({ caller: CALLERS[(i + 200) % 7], from: iso(END - 7 * 86_400_000) }));
    await list('one app, outcome upstream_error, 50', (i) => ({ app: APPS[(i + 8) % 8], outcome: 'upstream_error' }));
    await list('status 403 (rare), 50', () => ({ status: 403 }));
    await list('one end user, up to 200 events', (i) => ({ user: sample(i).endUser!, limit: 200 }));
    await list('a request id', (i) => ({ request_id: sample(i).requestId! }));
    await list('a conversation id, up to 200 events', (i) => ({ conversation_id: `conv-${(i + 100) * 97}`, limit: 200 }));
    await list('a message id', (i) => ({ message_id: sample(i).messageId ?? 'none' }));
    await list('a one-hour window two weeks ago, 50', (i) => ({ from: iso(END - 14 * 86_400_000 + i * 3_600_000), to: iso(END - 14 * 86_400_000 + (i + 2) * 3_600_000) }));
    await list('one route over the last day, 50', () => ({ route: '/files/upload', from: iso(END - 86_400_000) }));
    await list('one caller, the 5th page of 200 (cursor)', (i) => ({ caller: CALLERS[(i + 200) % 5], limit: 200, cursor: Buffer.from(`seq:${Math.floor(EVENTS * 0.9)}`).toString('base64url') }));
    await time('a call with its events (GET /audit/events/{id})', async (i) => (await queries.get(sample(i).id, actor)).events.length, (i) => log.read.findByCall(sample(i).callId!));
    await time('stats: last day by day, caller, app', async () => (await queries.stats({ from: iso(END - 86_400_000) }, actor)).data.length);
    await time('stats: last 7 days by day, caller, app', async () => (await queries.stats({ from: iso(END - 7 * 86_400_000) }, actor)).data.length);
    await time('stats: 30 days by app', async () => (await queries.stats({ group_by: 'app' }, actor)).data.length);
    await time('stats: one caller, 30 days by day', async (i) => (await queries.stats({ caller: CALLERS[(i + 200) % 200], group_by: 'day' }, actor)).data.length);

    console.log('\nexport (keyset batches of 1000, backpressure from a 16 KiB socket buffer)');
    for (const [format, days] of [['ndjson', 3], ['csv', 3]] as [ExportFormat, number][]) {
      const out = sink();
      const t0 = performance.now();
      await queries.export({ format, from: iso(END - days * 86_400_000) }, actor, out);
      const seconds = (performance.now() - t0) / 1000;
      const exported = Math.round((EVENTS * days) / DAYS);
      console.log(`  ${format.padEnd(6)} last ${days} days: ~${exported} rows, ${(out.bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s = ${(exported / seconds).toFixed(0)} rows/s, ${(out.bytes / 1e6 / seconds).toFixed(1)} MB/s, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
    }

    console.log('\nverification');
    for (const count of [100_000]) {
      const t0 = performance.now();
      const report = await log.verifier.verify({ fromSeq: EVENTS - count + 1 });
      const seconds = (performance.now() - t0) / 1000;
      console.log(`  last ${count} events: ${report.ok ? 'OK' : 'FAILED'}, ${report.checked} checked in ${seconds.toFixed(1)} s = ${(report.checked / seconds).toFixed(0)} events/s`);
    }
  } finally {
    await log.close();
    await db.close();
    if (process.env.BENCH_KEEP === '1') console.log(`kept database ${testDb.url}`);
    else await testDb.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
