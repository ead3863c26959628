/**
 * `npm run bench:load`: the gateway under load, side by side with what a proxy on this machine
 * can do at best, in one run and one Markdown table (issue 9, "Targets").
 *
 * Rows, each loaded alone, all on loopback ephemeral ports:
 *   direct        the load straight at a minimal Dify-shaped upstream (bench/load/upstream.ts,
 *                 its own process): the baseline of every "added" figure;
 *   bare proxy    node:http + axios keep-alive, its own process: the ceiling of any Node proxy;
 *   nginx         `proxy_pass` (skipped with a note when nginx is not installed);
 *   gateway       `node dist/main.js` with everything on, on Postgres and on PGlite;
 *   2 replicas    two gateway processes on one Postgres database, loaded together.
 * Closed loop from wrk when installed, else autocannon; open loop from bench/load/open-loop.ts.
 * Figures only, no assertions. Every process, folder, database and Redis prefix it makes is
 * removed at the end, on error, on Ctrl-C, and after BENCH_MAX_SECONDS at the latest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { withAuditCount } from './load/audit-count.js';
import { APP_KEY, prepareGatewayDatabase, startGateway, type GatewayDatabase } from './load/gateway.js';
import type { LoadResult, LoadTarget } from './load/loaders.js';
import { closedLoop, measureRow, type BenchSettings } from './load/measure.js';
import { startNginx, which } from './load/nginx.js';
import { cleanupAll, onCleanup, rssMb, startHelperServer, stopping } from './load/processes.js';
import { newRow, renderNotes, renderTable, type Row } from './load/report.js';

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
};
const ROWS = new Set((process.env.BENCH_ROWS ?? 'direct,bare,nginx,postgres,replicas,pglite').split(',').map((s) => s.trim()));
const STREAMS = num('BENCH_STREAMS', 1000);

/** Extra gateway settings: every `BENCH_GW_<NAME>` is passed to the gateways as `<NAME>`. */
function gatewayEnv(): Record<string, string> {
  const env: Record<string, string> = {
    // The bulkhead must admit the concurrent-stream test; what holds the streams is then the gateway itself.
    DIFY_MAX_CONCURRENT_CALLS: String(Math.max(100, 2 * STREAMS)),
  };
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('BENCH_GW_') && value !== undefined) env[name.slice('BENCH_GW_'.length)] = value;
  }
  return env;
}

function settings(dir: string): BenchSettings {
  return {
    seconds: num('BENCH_SECONDS', 10),
    openSeconds: num('BENCH_OPEN_SECONDS', 10),
    warmupSeconds: num('BENCH_WARMUP_SECONDS', 3),
    connections: num('BENCH_CONNECTIONS', 32),
    openConnections: num('BENCH_OPEN_CONNECTIONS', 256),
    rates: (process.env.BENCH_RATES ?? '500,1000')
      .split(',')
      .map(Number)
      .filter((n) => n > 0),
    wrkThreads: num('BENCH_WRK_THREADS', 2),
    useWrk: process.env.BENCH_LOADER !== 'autocannon' && which('wrk') !== undefined,
    sse: { streams: num('BENCH_SSE_STREAMS', 20), chunks: num('BENCH_SSE_CHUNKS', 50), intervalMs: num('BENCH_SSE_INTERVAL_MS', 20) },
    streams: {
      count: STREAMS,
      chunks: num('BENCH_STREAM_CHUNKS', 30),
      intervalMs: num('BENCH_STREAM_INTERVAL_MS', 100),
      timeoutMs: num('BENCH_STREAM_TIMEOUT_MS', 120_000),
    },
    auditSeconds: num('BENCH_AUDIT_SECONDS', 10),
    pairedRounds: num('BENCH_PAIRED_ROUNDS', 3),
    pairedSeconds: num('BENCH_PAIRED_SECONDS', 3),
    dir,
  };
}

function auditCell(counted: Awaited<ReturnType<typeof withAuditCount<LoadResult>>>, row: Row): LoadResult {
  if ('unreadable' in counted) {
    row.notes.push(`audit events not counted: ${counted.unreadable}`);
    return counted.result;
  }
  row.audit = Math.round(counted.eventsPerSecond).toLocaleString('en-US');
  if (counted.sealLag) row.audit += ` (seal lag p50 ${Math.round(counted.sealLag.p50Ms)}, p99 ${Math.round(counted.sealLag.p99Ms)} ms)`;
  else row.notes.push('seal lag: not measurable here (no received_at column: events are sealed as they are written)');
  if (counted.backlog > 0)
    row.notes.push(`${counted.backlog} audit events were sealed after the closed loop ended, the last ${Math.round(counted.drainedMs)} ms after it`);
  return counted.result;
}

/**
 * The machine is shared: a spike during one row skews its ratio to another. So the ratio to the
 * bare proxy is also taken in short alternating rounds (bare, gateway, bare, ...): the median of
 * the rounds' ratios.
 */
async function pairedRatio(row: Row, s: BenchSettings, gateway: LoadTarget, bare: LoadTarget): Promise<void> {
  if (s.pairedRounds === 0) return;
  console.error(`  ${row.name}: ${s.pairedRounds} paired rounds of ${s.pairedSeconds} s with the bare proxy`);
  const ratios: number[] = [];
  for (let i = 0; i < s.pairedRounds; i++) {
    const b = await closedLoop(s, bare, s.pairedSeconds);
    const g = await closedLoop(s, gateway, s.pairedSeconds);
    ratios.push(g.rps / b.rps);
  }
  ratios.sort((x, y) => x - y);
  row.pairedRatio = ratios[Math.floor(ratios.length / 2)];
}

/** The gateway alone on `db`, stopped afterwards. */
async function gatewayRow(row: Row, db: GatewayDatabase, s: BenchSettings, bare: LoadTarget | undefined): Promise<void> {
  const gw = await startGateway(db, row.name);
  const target: LoadTarget = { url: `${gw.origin}/v1/chat-messages`, key: db.key };
  try {
    await measureRow(row, s, target, {
      pid: gw.pid,
      aroundClosed: db.url ? async (load) => auditCell(await withAuditCount(db.url!, s.seconds, load), row) : undefined,
    });
    if (bare) await pairedRatio(row, s, target, bare);
  } catch (error) {
    console.error(gw.logTail());
    throw error;
  } finally {
    await gw.stop();
  }
}

/** Two replicas on one Postgres database, each under half the closed-loop connections, at once. */
async function replicasRow(row: Row, db: GatewayDatabase, s: BenchSettings): Promise<void> {
  const a = await startGateway(db, 'replica A');
  const b = await startGateway(db, 'replica B').catch(async (error: unknown) => {
    await a.stop();
    throw error;
  });
  try {
    const half = Math.max(1, Math.floor(s.connections / 2));
    const targets = [a, b].map((gw) => ({ url: `${gw.origin}/v1/chat-messages`, key: db.key }));
    await Promise.all(targets.map((t) => closedLoop(s, t, Math.min(3, s.warmupSeconds), half)));
    console.error(`  ${row.name}: closed loop ${s.auditSeconds} s, ${half} connections each`);
    const both = async (): Promise<LoadResult> => {
      const [ra, rb] = await Promise.all(targets.map((t) => closedLoop(s, t, s.auditSeconds, half)));
      return {
        tool: ra.tool,
        rps: ra.rps + rb.rps,
        p50Ms: Math.max(ra.p50Ms, rb.p50Ms),
        p99Ms: Math.max(ra.p99Ms, rb.p99Ms),
        total: ra.total + rb.total,
        errors: ra.errors + rb.errors,
      };
    };
    row.closed = auditCell(await withAuditCount(db.url!, s.auditSeconds, both), row);
    row.errors = row.closed.errors;
    row.rssAfterMb = Math.max(rssMb(a.pid) ?? 0, rssMb(b.pid) ?? 0);
    row.notes.push('p50 / p99 are the worse of the two replicas; RSS after load is the larger replica');
  } finally {
    await b.stop();
    await a.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-load-'));
  onCleanup('bench folder', () => rmSync(dir, { recursive: true, force: true }));
  const s = settings(dir);
  console.error(`bench:load on ${cpus().length} cores, closed loop by ${s.useWrk ? 'wrk' : 'autocannon'}, open loop by bench/load/open-loop.ts`);
  const upstream = await startHelperServer('upstream', './upstream.ts');
  const rows: Row[] = [];

  /** Runs one section; a failure becomes a row that says so, and the other rows still run. */
  const section = async (name: string, fn: (row: Row) => Promise<void>) => {
    const row = newRow(name);
    try {
      await fn(row);
    } catch (error) {
      if (stopping()) throw error;
      row.skipped = `failed: ${(error as Error).message.split('\n')[0]}`;
      console.error(`${name} failed: ${(error as Error).stack ?? String(error)}`);
    }
    rows.push(row);
  };

  if (ROWS.has('direct')) {
    await section('direct to the upstream', (row) => measureRow(row, s, { url: `${upstream.url}/v1/chat-messages`, key: APP_KEY }));
  }
  if (ROWS.has('nginx')) {
    await section('nginx proxy_pass', async (row) => {
      const nginx = await startNginx(upstream.url);
      if (!nginx) row.skipped = 'skipped: nginx is not installed (apt-get install -y nginx-light)';
      else {
        await measureRow(row, s, { url: `${nginx.url}/v1/chat-messages`, key: APP_KEY });
        await nginx.stop();
      }
    });
  }
  let bareTarget: LoadTarget | undefined;
  if (ROWS.has('bare')) {
    await section('bare Node proxy (node:http + axios)', async (row) => {
      const bare = await startHelperServer('bare proxy', './bare-proxy.ts', [upstream.url]);
      bareTarget = { url: `${bare.url}/v1/chat-messages`, key: APP_KEY };
      await measureRow(row, s, bareTarget, { pid: bare.pid });
      // Kept running (idle) for the gateway rows' paired rounds; stopped by the clean-up.
    });
  }
  let postgres: GatewayDatabase | undefined;
  if (ROWS.has('postgres')) {
    await section('**gateway, Postgres**', async (row) => {
      postgres = await prepareGatewayDatabase('postgres', upstream.url, gatewayEnv());
      await gatewayRow(row, postgres, s, bareTarget);
    });
  }
  if (ROWS.has('replicas')) {
    await section('gateway ×2 replicas, one Postgres', async (row) => {
      postgres ??= await prepareGatewayDatabase('postgres', upstream.url, gatewayEnv());
      await replicasRow(row, postgres, s);
    });
  }
  if (ROWS.has('pglite')) {
    await section('**gateway, PGlite**', async (row) => gatewayRow(row, await prepareGatewayDatabase('pglite', upstream.url, gatewayEnv()), s, bareTarget));
  }

  const order = ['direct', 'nginx', 'bare', '**gateway, Postgres', '**gateway, PGlite', 'gateway ×2'];
  rows.sort((x, y) => order.findIndex((p) => x.name.startsWith(p)) - order.findIndex((p) => y.name.startsWith(p)));
  console.log(
    `\nSmall blocking chats (closed loop: ${s.connections} connections, ${s.seconds} s; open loop: ${s.openSeconds} s, at most ${s.openConnections} connections). ` +
      `SSE: ${s.sse.streams} streams × ${s.sse.chunks} events ${s.sse.intervalMs} ms apart. Concurrent: ${s.streams.count} streams × ${s.streams.chunks} events ${s.streams.intervalMs} ms apart. ` +
      `Closed loop by ${s.useWrk ? 'wrk' : 'autocannon'}, open loop by bench/load/open-loop.ts (latency from when each request was due); ${cpus().length} cores, load average ${loadBefore.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end; run took ${Math.round((Date.now() - started) / 1000)} s.\n`,
  );
  console.log(renderTable(rows, s.rates, s.streams.count));
  const notes = renderNotes(rows);
  if (notes) console.log(`\n${notes}`);
}

const maxSeconds = num('BENCH_MAX_SECONDS', 900);
const deadline = setTimeout(() => {
  console.error(`bench:load: stopped after BENCH_MAX_SECONDS=${maxSeconds}`);
  void cleanupAll().finally(() => process.exit(2));
}, maxSeconds * 1000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanupAll().finally(() => process.exit(130)));
}

main()
  .then(async () => {
    await cleanupAll();
    clearTimeout(deadline);
    process.exit(0);
  })
  .catch(async (error: unknown) => {
    if (stopping()) return; // a signal or the deadline is already cleaning up and exiting
    console.error(`bench:load failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanupAll();
    process.exit(1);
  });
