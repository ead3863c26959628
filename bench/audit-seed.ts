/**
 * Seeding for `bench:audit-queries`. The bulk of the events is generated inside PostgreSQL
 * (`generate_series`, one INSERT ... SELECT per million events, with the secondary indexes
 * dropped during the load and rebuilt after it by sorting), then the newest TAIL events go
 * through the real chain code (hashed, signed, linked after the bulk's head), so verification
 * and checkpoints are measured on a valid signed chain. The bulk rows have placeholder hashes
 * (linked to each other, not verifiable): only the tail is ever verified by the bench.
 *
 * The distributions match the generator this replaces: 200 callers (skewed), 8 apps (skewed),
 * 20,000 end users, 100,000 conversations, 93% success, about two events per call.
 */
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { EventDraft, Outcome } from '../src/audit/audit-event.js';
import { linkEvents, toEventBody } from '../src/audit/write/audit-chain.js';
import { sealedJson, INSERT_SEALED_SQL } from '../src/audit/write/audit-statements.js';
import type { AuditSigner } from '../src/audit/write/audit-signer.js';
import { BACKFILL_ROLLUP_SQL } from '../src/audit/write/audit-stats-sql.js';

export const DAYS = 30;
export const APPS = ['support', 'billing', 'hr-bot', 'legal', 'sales', 'search', 'summaries', 'default'];
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const uuidOf = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
/** Deterministic, so a kept database is queried with the same callers (SQL: `md5('bench-caller-' || i)::uuid`). */
export const CALLERS = Array.from({ length: 200 }, (_, i) => uuidOf(md5(`bench-caller-${i}`)));
/** Events made through the chain code, at the newest end (the bench verifies the last 100,000). */
const TAIL = 150_000;
const BULK_CHUNK_CALLS = 500_000;

const q = (s: string) => `'${s}'`;
const BULK_SQL = `
  WITH c AS (
    SELECT n, floor(200 * random() ^ 2)::int AS caller, random() AS r_route, (ARRAY[${APPS.map(q).join(',')}])[1 + floor(8 * random() ^ 1.5)::int] AS app,
           'user-' || floor(20000 * random())::int AS end_user, random() AS r_out, floor(100000 * random())::int AS conv, random() AS r_num
      FROM generate_series($1::bigint, $2::bigint - 1) AS n
  ), calls AS (
    SELECT c.*, CASE WHEN r_route < 0.7 THEN '/chat-messages' WHEN r_route < 0.9 THEN '/workflows/run' WHEN r_route < 0.95 THEN '/messages' ELSE '/files/upload' END AS route,
           CASE WHEN r_out < 0.93 THEN 'success' WHEN r_out < 0.97 THEN 'client_error' WHEN r_out < 0.985 THEN 'upstream_error'
                WHEN r_out < 0.995 THEN 'rejected' WHEN r_out < 0.998 THEN 'timeout' ELSE 'cancelled' END AS outcome
      FROM c
  ), ev AS (
    SELECT calls.*, e.ord, $3::bigint + row_number() OVER (ORDER BY n, e.ord) AS seq
      FROM calls CROSS JOIN LATERAL (VALUES (0), (1)) AS e(ord) WHERE NOT (outcome = 'rejected' AND e.ord = 0)
  ), rows AS (
    SELECT ev.*, to_timestamp(($4::float8 + ($5::float8 - $4::float8) * seq / $6::float8) / 1000) AS at FROM ev WHERE seq <= $6::bigint
  )
  INSERT INTO audit_events (seq, id, type, recorded_at, received_at, call_id, request_id, caller_key_id, caller_name, app_alias, method, route, end_user,
         status, upstream_status, outcome, error_code, latency_ms, attempts, conversation_id, message_id, total_tokens, total_price, currency, prev_hash, hash)
  SELECT seq, gen_random_uuid(), CASE ord WHEN 0 THEN 'call.started' ELSE 'call.finished' END, at, at, md5('call-' || n)::uuid, 'req-' || n,
         md5('bench-caller-' || caller)::uuid, 'team-' || caller, app, CASE route WHEN '/messages' THEN 'GET' ELSE 'POST' END, route, end_user,
         CASE WHEN ord = 0 THEN NULL ELSE CASE outcome WHEN 'success' THEN 200 WHEN 'client_error' THEN 400 WHEN 'upstream_error' THEN 502 WHEN 'rejected' THEN 403
              WHEN 'timeout' THEN 504 ELSE 499 END END,
         CASE WHEN ord = 0 THEN NULL ELSE CASE outcome WHEN 'success' THEN 200 WHEN 'client_error' THEN 400 WHEN 'upstream_error' THEN 503 WHEN 'cancelled' THEN 200 END END,
         CASE WHEN ord = 0 THEN NULL ELSE outcome END,
         CASE WHEN ord = 0 THEN NULL ELSE CASE outcome WHEN 'client_error' THEN 'invalid_param' WHEN 'upstream_error' THEN 'dify_unavailable' WHEN 'rejected' THEN 'forbidden'
              WHEN 'timeout' THEN 'dify_timeout' WHEN 'cancelled' THEN 'client_closed' END END,
         CASE WHEN ord = 1 THEN 200 + floor(3000 * r_num)::int END, CASE WHEN ord = 1 THEN 1 END,
         CASE WHEN route = '/chat-messages' THEN 'conv-' || conv END,
         CASE WHEN ord = 1 AND outcome = 'success' AND route = '/chat-messages' THEN gen_random_uuid()::text END,
         CASE WHEN ord = 1 AND outcome = 'success' THEN 50 + floor(2000 * r_num)::int END,
         CASE WHEN ord = 1 AND outcome = 'success' THEN round((r_num / 100)::numeric, 7)::text END,
         CASE WHEN ord = 1 AND outcome = 'success' THEN 'USD' END,
         CASE WHEN seq = 1 THEN repeat('0', 64) ELSE md5((seq - 1)::text) || md5('x' || (seq - 1)) END, md5(seq::text) || md5('x' || seq)
    FROM rows`;

/** Seeds `events` events over [start, end]: the bulk in SQL, the newest TAIL through the chain code. */
export async function seedEvents(url: string, events: number, start: number, end: number, signer: AuditSigner): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const bulk = Math.max(0, events - TAIL);
    const t0 = performance.now();
    const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
    if (bulk > 0) {
      await client.query(`SET synchronous_commit = off`);
      const indexes = (
        await client.query<{ indexname: string; indexdef: string }>(
          `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_events' AND indexname <> 'audit_events_pkey'`,
        )
      ).rows;
      for (const ix of indexes) await client.query(`DROP INDEX "${ix.indexname}"`);
      let seq = 0;
      for (let n = 0; seq < bulk; n += BULK_CHUNK_CALLS) {
        await client.query(BULK_SQL, [n, n + BULK_CHUNK_CALLS, seq, start, end, bulk]);
        seq = Number((await client.query<{ s: string }>('SELECT max(seq) AS s FROM audit_events')).rows[0].s);
        console.log(`  bulk: ${seq} events (${elapsed()})`);
      }
      // The bulk went around the sequencer: add it to the statistics rollup as the migration's backfill does (and analyze it, as it does).
      const rollup = (await client.query(`SELECT to_regclass('audit_stats_daily') IS NOT NULL AS ok`)).rows[0].ok as boolean;
      if (rollup) for (const sql of [...BACKFILL_ROLLUP_SQL, 'ANALYZE audit_stats_daily', 'ANALYZE audit_stats_hourly']) await client.query(sql);
      console.log(`  rollup: ${rollup ? 'backfilled' : 'none (schema before it)'} (${elapsed()})`);
      await client.query(`SET maintenance_work_mem = '1GB'`);
      for (const ix of indexes) {
        await client.query(ix.indexdef);
        console.log(`  rebuilt ${ix.indexname} (${elapsed()})`);
      }
    }
    await seedTail(client, events - bulk, bulk, start, end, events, signer);
    await client.query('ANALYZE audit_events');
    const size = await client.query(
      `SELECT pg_size_pretty(pg_total_relation_size('audit_events')) AS total, pg_size_pretty(pg_indexes_size('audit_events')) AS indexes`,
    );
    console.log(`seeded ${events} events in ${elapsed()}; table audit_events: ${size.rows[0].total} (indexes ${size.rows[0].indexes})`);
  } finally {
    await client.end();
  }
}

/** Deterministic pseudo-random numbers for the tail. */
let state = 42;
const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
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
  const caller = Math.floor(200 * random() ** 2);
  const r = random();
  const route = r < 0.7 ? '/chat-messages' : r < 0.9 ? '/workflows/run' : r < 0.95 ? '/messages' : '/files/upload';
  const identity = {
    instanceId: null,
    callId: randomUUID(),
    requestId: `req-t${n}`,
    callerKeyId: CALLERS[caller],
    callerName: `team-${caller}`,
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

/** The newest `count` events through the chain code, linked after seq `after`; a signed checkpoint every ~20,000. */
async function seedTail(client: pg.Client, count: number, after: number, start: number, end: number, total: number, signer: AuditSigner): Promise<void> {
  const head0 = (
    await client.query<{ seq: string; hash: string; recorded_at: Date }>('SELECT seq, hash, recorded_at FROM audit_events ORDER BY seq DESC LIMIT 1')
  ).rows[0];
  let head = head0
    ? { seq: Number(head0.seq), hash: head0.hash, recordedAt: head0.recorded_at }
    : { seq: 0, hash: '0'.repeat(64), recordedAt: null as Date | null };
  if (head.seq !== after) throw new Error(`expected the bulk to end at seq ${after}, found ${head.seq}`);
  let calls = 0;
  let batch: ReturnType<typeof linkEvents> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await client.query(INSERT_SEALED_SQL, [sealedJson(batch)]);
    batch = [];
    if (head.seq % 20_000 < 5050) {
      const cp = { id: randomUUID(), seq: head.seq, hash: head.hash, kind: 'periodic' as const, createdAt: head.recordedAt! };
      const sig = signer.signCheckpoint(cp);
      await client.query('INSERT INTO audit_checkpoints (id, seq, hash, kind, created_at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        cp.id,
        cp.seq,
        cp.hash,
        cp.kind,
        cp.createdAt,
        sig?.keyId,
        sig?.signature,
      ]);
    }
  };
  while (head.seq < after + count) {
    const drafts: EventDraft[] = [];
    while (drafts.length < 50) drafts.push(...call(calls++));
    const room = after + count - head.seq;
    const at = new Date(start + ((end - start) * head.seq) / total);
    const linked = linkEvents(head, drafts.slice(0, room).map(toEventBody), at, signer);
    const last = linked[linked.length - 1];
    head = { seq: last.seq, hash: last.hash, recordedAt: last.recordedAt };
    batch.push(...linked);
    if (batch.length >= 5000) await flush();
  }
  await flush();
}
