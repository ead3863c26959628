/**
 * `npm run bench:audit-write`: what writing the audit log costs a call, with and without load,
 * and what group commit buys.
 *
 * For each database (the embedded PGlite, and PostgreSQL: the local server, or the one at
 * TEST_DATABASE_ADMIN_URL), on a fresh database of its own:
 *   - no load: one `call.started` append at a time (what a lone call waits before going to Dify);
 *   - load: BENCH_CONCURRENCY callers appending at once, with group commit (batches up to 256)
 *     and without it (batches of 1), throughput and latency.
 * The appends go through the real writer, repository, chain and signatures. Figures only, no
 * assertions.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createAuditLog } from '../src/audit/audit-log.js';
import { Secret } from '../src/config/secret.js';
import { openDatabase, type OpenDatabase } from '../src/database/open-database.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const PER_CALLER = Number(process.env.BENCH_PER_CALLER ?? 40);
const KEY = [new Secret('bench-signing-key-0123456789abcdef0123456789')];

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  return `p50 ${quantile(sorted, 0.5).toFixed(2)} ms  p95 ${quantile(sorted, 0.95).toFixed(2)} ms  p99 ${quantile(sorted, 0.99).toFixed(2)} ms`;
}

function draft(n: number) {
  return { id: randomUUID(), type: 'call.started' as const, callId: randomUUID(), requestId: `bench-${n}`, callerKeyId: randomUUID(), callerName: 'bench', appAlias: 'default', method: 'POST', route: '/chat-messages', endUser: `user-${n % 100}` };
}

async function scenario(db: OpenDatabase, label: string, maxSize: number): Promise<void> {
  const log = createAuditLog(db, { storeText: false, signingKeys: KEY, retentionDays: 0, checkpointIntervalMs: 60_000, batch: { maxSize, maxWaitMs: 0 }, writeTimeoutMs: 30_000, seal: { intervalMs: 100, batchSize: 5_000, maxLagMs: 60_000 } });
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, c) => {
      for (let i = 0; i < PER_CALLER; i++) {
        const start = performance.now();
        await log.writer.append(draft(c * PER_CALLER + i));
        latencies.push(performance.now() - start);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const { batches, events } = log.writer.counters;
  console.log(`  ${label.padEnd(34)} ${(events / seconds).toFixed(0).padStart(6)} events/s  ${summary(latencies)}  avg batch ${(events / batches).toFixed(1)}`);
  await log.close();
}

async function bench(name: string, testDb: TestDatabase): Promise<void> {
  const db = await openDatabase(testDb);
  try {
    const log = createAuditLog(db, { storeText: false, signingKeys: KEY, retentionDays: 0, checkpointIntervalMs: 60_000, batch: { maxSize: 256, maxWaitMs: 0 }, writeTimeoutMs: 30_000, seal: { intervalMs: 100, batchSize: 5_000, maxLagMs: 60_000 } });
    for (let i = 0; i < 30; i++) await log.writer.append(draft(i)); // warm-up
    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const start = performance.now();
      await log.writer.append(draft(i));
      latencies.push(performance.now() - start);
    }
    await log.close();
    console.log(`\n${name}`);
    console.log(`  ${'no load: one call at a time'.padEnd(34)} ${summary(latencies)}   (added before each call reaches Dify)`);
    await scenario(db, `${CONCURRENCY} concurrent, group commit`, 256);
    await scenario(db, `${CONCURRENCY} concurrent, no group commit`, 1);
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  console.log(`audit write path: ${SEQUENTIAL} sequential appends; ${CONCURRENCY} callers x ${PER_CALLER} appends under load`);
  const pglite = await createTestDatabase('pglite');
  try {
    await bench('PGlite (embedded, on disk)', pglite);
  } finally {
    await pglite.drop();
  }
  const postgres = await createTestDatabase('postgres');
  try {
    await bench('PostgreSQL (local server, or TEST_DATABASE_ADMIN_URL)', postgres);
  } finally {
    await postgres.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
