/**
 * `npm run bench:cpu-per-call`: CPU milliseconds each process spends per call, for the bare
 * Node proxy and the gateway (Postgres, everything on as in bench:load), under the same closed
 * loop. On a shared machine throughput swings with the neighbours' load; the CPU a process burns
 * per call (utime + stime from /proc, over a run of many calls) swings far less, and on one
 * saturated core `bare CPU / gateway CPU` is the closed-loop ratio the issue targets.
 * CPC_SECONDS (10), CPC_CONNECTIONS (32), CPC_ROUNDS (3: the median is printed). Figures only.
 * CPC_VARIANTS: a JSON object of further gateways to measure in the same run, each a name and
 * the documented variables it changes, e.g. `{"log warn":{"LOG_LEVEL":"warn"}}`: what a feature
 * costs per call, read side by side with the full gateway. Each gateway line also gives the CPU
 * the PostgreSQL server spent per call (all its processes: on these 2 cores it competes with the
 * gateway for the same CPU).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareGatewayDatabase, startGateway, APP_KEY } from './load/gateway.js';
import { autocannon, type LoadTarget } from './load/loaders.js';
import { cleanupAll, onCleanup, startHelperServer } from './load/processes.js';

const SECONDS = Number(process.env.CPC_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.CPC_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.CPC_ROUNDS ?? 3);
const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** utime + stime of every PostgreSQL server process (the postmaster and its backends), in ms. */
function postgresCpuMs(): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'postgres') total += cpuMs(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

async function perCall(pid: number, target: LoadTarget): Promise<{ ms: number; dbMs: number; rps: number }> {
  const before = cpuMs(pid);
  const dbBefore = postgresCpuMs();
  const result = await autocannon(target, SECONDS, CONNECTIONS);
  return { ms: (cpuMs(pid) - before) / result.total, dbMs: (postgresCpuMs() - dbBefore) / result.total, rps: result.rps };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cpc-'));
  onCleanup('folder', () => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startHelperServer('upstream', './upstream.ts');
  const bare = await startHelperServer('bare proxy', './bare-proxy.ts', [upstream.url]);
  const bareTarget = { url: `${bare.url}/v1/chat-messages`, key: APP_KEY };
  await autocannon(bareTarget, 2, CONNECTIONS);
  const variants: Record<string, Record<string, string>> = {
    gateway: {},
    ...(JSON.parse(process.env.CPC_VARIANTS ?? '{}') as Record<string, Record<string, string>>),
  };
  const gateways = [];
  for (const [name, env] of Object.entries(variants)) {
    const db = await prepareGatewayDatabase('postgres', upstream.url, env);
    const gw = await startGateway(db, name);
    const target = { url: `${gw.origin}/v1/chat-messages`, key: db.key };
    await autocannon(target, 3, CONNECTIONS);
    gateways.push({ name, gw, target, ms: [] as number[], dbMs: [] as number[], rps: [] as number[] });
  }
  // The same full gateway answering less: the framework floor (Nest, Express, Terminus) and a refused key.
  const full = gateways[0];
  const origin = new URL(full.target.url).origin;
  gateways.push(
    { ...full, name: 'gateway, GET /live', target: { url: `${origin}/live`, key: '', method: 'GET' as const }, ms: [], dbMs: [], rps: [] },
    { ...full, name: 'gateway, an unknown key (401)', target: { ...full.target, key: 'dgw_unknownUNKNOWNunknown0123456789abcdef' }, ms: [], dbMs: [], rps: [] },
  );
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    b.push((await perCall(bare.pid, bareTarget)).ms);
    for (const g of gateways) {
      const r = await perCall(g.gw.pid, g.target);
      g.ms.push(r.ms);
      g.dbMs.push(r.dbMs);
      g.rps.push(r.rps);
    }
  }
  const bm = median(b);
  console.log(`load average ${loadavg()[0].toFixed(1)}; ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections (medians)`);
  console.log(`bare proxy CPU per call ${bm.toFixed(3)} ms`);
  for (const g of gateways) {
    const gm = median(g.ms);
    console.log(
      `${g.name}: ${gm.toFixed(3)} ms per call (${median(g.rps).toFixed(0)} rps); bare / it ${((100 * bm) / gm).toFixed(0)} %; PostgreSQL ${median(g.dbMs).toFixed(3)} ms per call`,
    );
  }
  for (const g of new Set(gateways.map((x) => x.gw))) await g.stop();
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
