/**
 * `npm run bench:cpu-per-call`: CPU milliseconds each process spends per call, for the bare
 * Node proxy and the gateway (Postgres, everything on as in bench:load), under the same closed
 * loop. On a shared machine throughput swings with the neighbours' load; the CPU a process burns
 * per call (utime + stime from /proc, over a run of many calls) swings far less, and on one
 * saturated core `bare CPU / gateway CPU` is the closed-loop ratio the issue targets.
 * CPC_SECONDS (10), CPC_CONNECTIONS (32), CPC_ROUNDS (3: the median is printed). Figures only.
 */
import { readFileSync } from 'node:fs';
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

async function perCall(pid: number, target: LoadTarget): Promise<{ ms: number; rps: number }> {
  const before = cpuMs(pid);
  const result = await autocannon(target, SECONDS, CONNECTIONS);
  return { ms: (cpuMs(pid) - before) / result.total, rps: result.rps };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cpc-'));
  onCleanup('folder', () => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startHelperServer('upstream', './upstream.ts');
  const bare = await startHelperServer('bare proxy', './bare-proxy.ts', [upstream.url]);
  const db = await prepareGatewayDatabase('postgres', upstream.url, {});
  const gw = await startGateway(db, 'gateway');
  const bareTarget = { url: `${bare.url}/v1/chat-messages`, key: APP_KEY };
  const gwTarget = { url: `${gw.origin}/v1/chat-messages`, key: db.key };
  await autocannon(bareTarget, 2, CONNECTIONS);
  await autocannon(gwTarget, 3, CONNECTIONS);
  const b: number[] = [];
  const g: number[] = [];
  const gRps: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    b.push((await perCall(bare.pid, bareTarget)).ms);
    const r = await perCall(gw.pid, gwTarget);
    g.push(r.ms);
    gRps.push(r.rps);
  }
  const [bm, gm] = [median(b), median(g)];
  console.log(`load average ${loadavg()[0].toFixed(1)}; ${ROUNDS} rounds of ${SECONDS} s, ${CONNECTIONS} connections (medians)`);
  console.log(
    `bare proxy CPU per call ${bm.toFixed(3)} ms; gateway ${gm.toFixed(3)} ms (${median(gRps).toFixed(0)} rps); bare / gateway ${((100 * bm) / gm).toFixed(0)} %`,
  );
  await gw.stop();
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
