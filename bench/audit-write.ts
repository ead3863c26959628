/**
 * `npm run bench:audit-write`: what recording the audit log costs a call (the write-ahead), with
 * and without load: the repository's statement (bare SQL, the rows as one JSON parameter) beside
 * the unnest-of-arrays statement through Prisma `$queryRaw` and through a bare `pg` pool; and
 * what one process seals per second.
 *
 * For each database (the embedded PGlite, and PostgreSQL: the local server, or the one at
 * TEST_DATABASE_ADMIN_URL), on a fresh database of its own:
 *   - floor (Postgres): a one-row autocommitted INSERT on a bare `pg` pool, one at a time;
 *   - no load: one `call.started` recorded at a time (what a lone call waits before going to Dify);
 *   - load: BENCH_CONCURRENCY callers recording at once, with group commit (batches up to 256);
 *   - sealing: the backlog those runs left, sealed by one process (hash, signature, chain).
 * The writes go through the real writer and inbox insert. Figures only, no assertions.
 * Two replicas sealing together: `npm run bench:audit-seal`.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { EventBody, EventDraft, RecordedEvent } from '../src/audit/audit-event.js';
import { createAuditLog } from '../src/audit/audit-log.js';
import { AuditWriter } from '../src/audit/write/audit-writer.js';
import { recordStatement } from '../src/audit/write/audit.repository.js';
import type { AuditConfig } from '../src/config/gateway-config.js';
import { Secret } from '../src/config/secret.js';
import { openDatabase, type OpenDatabase } from '../src/database/open-database.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const PER_CALLER = Number(process.env.BENCH_PER_CALLER ?? 100);
const KEY = [new Secret('bench-signing-key-0123456789abcdef0123456789')];
export const BENCH_AUDIT_CONFIG: AuditConfig = {
  storeText: false,
  signingKeys: KEY,
  retentionDays: 0,
  checkpointIntervalMs: 60_000,
  batch: { maxSize: 256, maxWaitMs: 0 },
  writeTimeoutMs: 30_000,
  seal: { intervalMs: 100, batchSize: Number(process.env.BENCH_SEAL_BATCH ?? 5_000), maxLagMs: 60_000 },
};

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  return `p50 ${quantile(sorted, 0.5).toFixed(2)} ms  p99 ${quantile(sorted, 0.99).toFixed(2)} ms`;
}

/** BENCH_MIX=calls: every other event a finished call with usage (200 callers, 4 apps), so the seal also updates the statistics rollup. */
const MIX_CALLS = process.env.BENCH_MIX === 'calls';
const MIX_CALLERS = Array.from({ length: 200 }, () => randomUUID());
const MIX_APPS = ['default', 'support', 'billing', 'search'];

export function draft(n: number): EventDraft {
  const started: EventDraft = {
    id: randomUUID(),
    type: 'call.started',
    callId: randomUUID(),
    requestId: `bench-${n}`,
    callerKeyId: randomUUID(),
    callerName: 'bench',
    appAlias: 'default',
    method: 'POST',
    route: '/chat-messages',
    endUser: `user-${n % 100}`,
    details: { started_at: new Date().toISOString() },
  };
  if (!MIX_CALLS || n % 2 === 0) return started;
  const outcome = n % 10 === 1 ? 'upstream_error' : 'success';
  const usage = { totalTokens: 100 + (n % 900), totalPrice: '0.0012', currency: 'USD' };
  return { ...started, type: 'call.finished', callerKeyId: MIX_CALLERS[n % 200], appAlias: MIX_APPS[n % 4], status: 200, outcome, ...usage };
}

type Recorder = Pick<AuditWriter, 'append'>;

async function sequential(writer: Recorder): Promise<number[]> {
  for (let i = 0; i < 30; i++) await writer.append(draft(i)); // warm-up
  const latencies: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = performance.now();
    await writer.append(draft(i));
    latencies.push(performance.now() - start);
  }
  return latencies;
}

async function concurrent(writer: Recorder): Promise<{ latencies: number[]; perSecond: number }> {
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, c) => {
      for (let i = 0; i < PER_CALLER; i++) {
        const start = performance.now();
        await writer.append(draft(c * PER_CALLER + i));
        latencies.push(performance.now() - start);
      }
    }),
  );
  return { latencies, perSecond: (CONCURRENCY * PER_CALLER) / ((performance.now() - t0) / 1000) };
}

/** The unnest-of-typed-arrays inbox insert (what recording was before bare SQL), behind the same group-committing writer. */
function unnestWriter(
  run: (text: string, values: unknown[], sql: ReturnType<typeof recordStatement>) => Promise<{ id: string; received_at: Date }[]>,
): AuditWriter {
  const store = {
    async record(bodies: EventBody[]): Promise<RecordedEvent[]> {
      const statement = recordStatement(bodies);
      const rows = await run(statement.text, statement.values as unknown[], statement);
      const at = new Map(rows.map((r) => [r.id, r.received_at]));
      return bodies.map((b) => ({ ...b, receivedAt: at.get(b.id) ?? new Date() }));
    },
    async writeProbe(): Promise<void> {},
  };
  return new AuditWriter(store, { maxBatch: 256, maxWaitMs: 0, timeoutMs: 30_000 });
}

function line(label: string, figures: string): void {
  console.log(`  ${label.padEnd(66)} ${figures}`);
}

async function bench(name: string, testDb: TestDatabase): Promise<void> {
  const db: OpenDatabase = await openDatabase(testDb);
  const log = createAuditLog(db, BENCH_AUDIT_CONFIG);
  const pool = testDb.url ? new pg.Pool({ connectionString: testDb.url, max: 10 }) : undefined;
  try {
    console.log(`\n${name}`);
    if (pool) {
      await pool.query("INSERT INTO audit_pending (id, type) VALUES ($1, 'call.started')", [randomUUID()]);
      const floor: number[] = [];
      for (let i = 0; i < SEQUENTIAL; i++) {
        const start = performance.now();
        await pool.query("INSERT INTO audit_pending (id, type) VALUES ($1, 'call.started')", [randomUUID()]);
        floor.push(performance.now() - start);
      }
      line('floor: bare pg one-row INSERT, one at a time', summary(floor));
    }
    const writers: [string, Recorder][] = [
      ['the repository: bare SQL, one JSON parameter', log.writer],
      ['Prisma $queryRaw, unnest arrays', unnestWriter((_t, _v, sql) => db.client.$queryRaw(sql))],
    ];
    if (pool) writers.push(['bare pg pool, unnest arrays', unnestWriter(async (text, values) => (await pool.query(text, values)).rows)]);
    for (const [label, writer] of writers) {
      line(`write-ahead alone (${label})`, summary(await sequential(writer)));
      const load = await concurrent(writer);
      line(`write-ahead, ${CONCURRENCY} callers (${label})`, `${summary(load.latencies)}  ${load.perSecond.toFixed(0)} events/s recorded`);
    }
    const backlog = Number((await db.client.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM audit_pending`)[0].n);
    const t0 = performance.now();
    const sealed = await log.sequencer.sealNow(600_000);
    const seconds = (performance.now() - t0) / 1000;
    line(`sealing a backlog of ${backlog}, one process`, `${(sealed / seconds).toFixed(0)} events/s sealed (batches of ${BENCH_AUDIT_CONFIG.seal.batchSize})`);
    const report = await log.verifier.verify();
    if (!report.ok) throw new Error(`chain does not verify: ${report.problem?.message}`);
  } finally {
    await log.close();
    await pool?.end();
    await db.close();
  }
}

async function main(): Promise<void> {
  console.log(`audit write-ahead: ${SEQUENTIAL} sequential records; ${CONCURRENCY} callers x ${PER_CALLER} records under load`);
  for (const kind of ['pglite', 'postgres'] as const) {
    const testDb = await createTestDatabase(kind);
    try {
      await bench(kind === 'pglite' ? 'PGlite (embedded, on disk)' : 'PostgreSQL (local server, or TEST_DATABASE_ADMIN_URL)', testDb);
    } finally {
      await testDb.drop();
    }
  }
}

if (process.argv[1]?.endsWith('audit-write.ts')) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
