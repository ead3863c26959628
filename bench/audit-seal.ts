/**
 * `npm run bench:audit-seal`: two replicas (two processes) on one PostgreSQL database, each
 * recording with BENCH_CONCURRENCY callers and each running the sequencer loop (one seals at a
 * time: the lease). Prints events/s recorded, events/s sealed and the seal lag (sealed time minus
 * recorded time, database clock) p50/p99, as fast as they can record and then at BENCH_RATE events/s
 * in all; then how fast the two drain a backlog of BENCH_BACKLOG
 * events left in the inbox (as after an outage). Then the same recording and sealing in one
 * process on PGlite. Figures only, no assertions.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createAuditLog } from '../src/audit/audit-log.js';
import { openDatabase } from '../src/database/open-database.js';
import { createTestDatabase, MIGRATIONS_DIR, type TestDatabase } from '../test/support/database.js';
import { BENCH_AUDIT_CONFIG, draft, quantile } from './audit-write.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
/** Events/s both replicas record together in the paced run (the issue's target: 10,000 sealed, seal lag p99 within 1 s). */
const RATE = Number(process.env.BENCH_RATE ?? 12_000);
const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);

interface WorkerResult {
  recorded: number;
  p50: number;
  p99: number;
  sealedHere: number;
}

/**
 * One replica: records for `seconds` with CONCURRENCY callers while its sequencer runs (at most
 * `rate` events/s in all when it is not 0: each caller's appends are due at fixed times); or,
 * with 0 callers, only seals until the inbox is empty.
 */
async function worker(testDb: Pick<TestDatabase, 'kind' | 'url' | 'pgliteDir'>, seconds: number, callers: number, rate = 0): Promise<WorkerResult> {
  const db = await openDatabase({ ...testDb, migrationsDir: MIGRATIONS_DIR });
  const log = createAuditLog(db, BENCH_AUDIT_CONFIG);
  log.sequencer.start();
  const latencies: number[] = [];
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; performance.now() < until; i++) {
        const due = rate > 0 ? t0 + ((i * callers + c) / rate) * 1000 : 0;
        if (due >= until) break;
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
        const start = performance.now();
        await log.writer.append(draft(c * 1_000_000 + i));
        latencies.push(performance.now() - start);
      }
    }),
  );
  if (callers === 0) {
    const pending = async () => Number((await db.client.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM audit_pending`)[0].n);
    while ((await pending()) > 0) await new Promise((r) => setTimeout(r, 50));
  }
  await log.writer.close(10_000);
  await log.sequencer.sealNow(60_000);
  await log.sequencer.close();
  await db.close();
  const sorted = latencies.sort((a, b) => a - b);
  return { recorded: latencies.length, p50: quantile(sorted, 0.5) ?? 0, p99: quantile(sorted, 0.99) ?? 0, sealedHere: log.sequencer.counters.sealed };
}

async function twoReplicas(url: string, seconds: number, callers: number, rateEach = 0): Promise<WorkerResult[]> {
  const spawnOne = () =>
    run(process.execPath, ['--import', 'tsx', SELF, 'worker', url, String(seconds), String(callers), String(rateEach)], {
      maxBuffer: 1 << 20,
      timeout: 600_000,
    });
  const outputs = await Promise.all([spawnOne(), spawnOne()]);
  return outputs.map((o) => JSON.parse(o.stdout.trim().split('\n').at(-1)!) as WorkerResult);
}

async function sealFigures(client: pg.Client, where: string): Promise<{ sealed: number; perSecond: number; lagP50: number; lagP99: number }> {
  const { rows } = await client.query(`
    SELECT count(*)::int AS n,
           extract(epoch FROM max(recorded_at) - min(received_at)) AS span,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM recorded_at - received_at) * 1000) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM recorded_at - received_at) * 1000) AS p99
      FROM audit_events WHERE ${where}`);
  const r = rows[0];
  return { sealed: r.n, perSecond: r.n / Math.max(Number(r.span), 0.001), lagP50: Number(r.p50), lagP99: Number(r.p99) };
}

function line(label: string, figures: string): void {
  console.log(`  ${label.padEnd(44)} ${figures}`);
}

async function main(): Promise<void> {
  console.log(`audit sealing: ${SECONDS} s of recording with ${CONCURRENCY} callers per replica; a backlog of ${BACKLOG}`);
  const testDb = await createTestDatabase('postgres');
  const client = new pg.Client({ connectionString: testDb.url });
  try {
    await (await openDatabase(testDb)).close(); // migrate once, before the replicas start
    await client.connect();
    console.log('\nPostgreSQL, two replicas (two processes)');
    const results = await twoReplicas(testDb.url!, SECONDS, CONCURRENCY);
    const recorded = results.reduce((n, r) => n + r.recorded, 0);
    results.forEach((r, i) =>
      line(
        `replica ${i + 1}: write-ahead, ${CONCURRENCY} callers`,
        `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${(r.recorded / SECONDS).toFixed(0)} events/s recorded, sealed ${r.sealedHere}`,
      ),
    );
    line('both: recorded', `${(recorded / SECONDS).toFixed(0)} events/s`);
    const live = await sealFigures(client, "type LIKE 'call.%'");
    line(
      'both: sealed while recording',
      `${live.perSecond.toFixed(0)} events/s (${live.sealed} events), seal lag p50 ${live.lagP50.toFixed(0)} ms  p99 ${live.lagP99.toFixed(0)} ms`,
    );

    const pacedFrom = (await client.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`)).rows[0].t;
    const paced = await twoReplicas(testDb.url!, SECONDS, CONCURRENCY, RATE / 2);
    const atRate = await sealFigures(client, `type LIKE 'call.%' AND received_at >= '${pacedFrom}'::timestamptz`);
    line(
      `both at ${RATE} events/s (BENCH_RATE): recorded`,
      `${(paced.reduce((n, r) => n + r.recorded, 0) / SECONDS).toFixed(0)} events/s, write-ahead p99 ${Math.max(...paced.map((r) => r.p99)).toFixed(2)} ms`,
    );
    line(
      `both at ${RATE} events/s: sealed`,
      `${atRate.perSecond.toFixed(0)} events/s (${atRate.sealed} events), seal lag p50 ${atRate.lagP50.toFixed(0)} ms  p99 ${atRate.lagP99.toFixed(0)} ms`,
    );

    await client.query(
      process.env.BENCH_MIX === 'calls'
        ? `INSERT INTO audit_pending (id, type, request_id, caller_key_id, caller_name, app_alias, outcome, total_tokens, total_price, currency, details)
           SELECT gen_random_uuid(), 'call.finished', 'backlog', md5('caller-' || (n % 200))::uuid, 'bench', 'app-' || (n % 4), 'success', 100 + n % 900, '0.0012', 'USD',
                  jsonb_build_object('n', n) FROM generate_series(1, ${BACKLOG}) AS n`
        : `INSERT INTO audit_pending (id, type, request_id, details) SELECT gen_random_uuid(), 'config.reloaded', 'backlog', jsonb_build_object('n', n) FROM generate_series(1, ${BACKLOG}) AS n`,
    );
    const t0 = performance.now();
    const drained = await twoReplicas(testDb.url!, 0, 0);
    const seconds = (performance.now() - t0) / 1000;
    line(
      `backlog of ${BACKLOG}, drained by two replicas`,
      `${(BACKLOG / seconds).toFixed(0)} events/s sealed incl. process start (${drained.map((d) => d.sealedHere).join(' + ')})`,
    );
    const backlog = await sealFigures(client, "request_id = 'backlog'");
    line(
      'backlog: sealing rate (database clock)',
      `${(backlog.sealed / Math.max(1e-3, Number((await client.query(`SELECT extract(epoch FROM max(recorded_at) - min(recorded_at)) AS s FROM audit_events WHERE request_id = 'backlog'`)).rows[0].s))).toFixed(0)} events/s`,
    );
  } finally {
    await client.end();
    await testDb.drop();
  }

  const lite = await createTestDatabase('pglite');
  try {
    console.log('\nPGlite, one process (recording and sealing on the same event loop)');
    const r = await worker(lite, SECONDS, CONCURRENCY);
    line(
      `write-ahead, ${CONCURRENCY} callers`,
      `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${(r.recorded / SECONDS).toFixed(0)} events/s recorded, ${r.sealedHere} sealed`,
    );
    const db = await openDatabase(lite);
    const [f] = await db.client.$queryRaw<{ n: number; span: number; p50: number; p99: number }[]>`
      SELECT count(*)::int AS n, extract(epoch FROM max(recorded_at) - min(received_at))::float8 AS span,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM recorded_at - received_at) * 1000)::float8 AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM recorded_at - received_at) * 1000)::float8 AS p99
        FROM audit_events WHERE type LIKE 'call.%'`;
    await db.close();
    line('sealed while recording', `${(f.n / Math.max(f.span, 0.001)).toFixed(0)} events/s, seal lag p50 ${f.p50.toFixed(0)} ms  p99 ${f.p99.toFixed(0)} ms`);
  } finally {
    await lite.drop();
  }
}

const [, , role, url, seconds, callers, rate] = process.argv;
const task =
  role === 'worker'
    ? worker({ kind: 'postgres', url, pgliteDir: '' }, Number(seconds), Number(callers), Number(rate ?? 0)).then((r) => console.log(JSON.stringify(r)))
    : main();
task.catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
