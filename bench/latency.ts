/**
 * `npm run bench`: the gateway's added latency for small blocking chats.
 *
 * Starts the Dify simulator and a real gateway process (node dist/main.js, embedded PGlite
 * unless BENCH_DATABASE_URL is set), then sends the same small blocking chat N times directly
 * to the simulator and N times through the gateway, interleaved so both see the same machine
 * state. Prints median and p99 of each and of the difference. No assertions: figures only.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startDifySimulator } from '../simulator/dify-simulator.js';

const N = Number(process.env.BENCH_REQUESTS ?? 1000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100);
const PORT = Number(process.env.BENCH_PORT ?? 3900);
const BODY = JSON.stringify({ inputs: {}, query: 'Hi', user: 'bench', response_mode: 'blocking' });

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

async function timed(url: string, key: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: BODY });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`unexpected status ${res.status}`);
  return performance.now() - t0;
}

async function waitForLive(url: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('gateway did not start');
}

async function main(): Promise<void> {
  const appKey = 'app-benchBENCHbench0123456789';
  // A short answer so that the figures show the gateway, not the simulator's word streaming.
  const sim = await startDifySimulator({ apps: [{ key: appKey, mode: 'chat' }], answer: 'ok', streamChunkDelayMs: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(PORT),
    HOST: '127.0.0.1',
    DIFY_BASE_URL: sim.url,
    DIFY_API_KEY: appKey,
    DIFY_ALLOW_INSECURE_HTTP: 'true',
    PGLITE_DIR: join(dataDir, 'pglite'),
    LOG_LEVEL: 'warn',
  };
  if (process.env.BENCH_DATABASE_URL) env.DATABASE_URL = process.env.BENCH_DATABASE_URL;
  else delete env.DATABASE_URL;

  const { key } = JSON.parse(
    execFileSync('node', ['dist/cli.js', 'keys', 'create', '--name', 'bench', '--scopes', 'chat', '--rpm', '0', '--streams', '0', '--json'], {
      env,
      encoding: 'utf8',
    }),
  ) as { key: string };
  const gateway = spawn('node', ['dist/main.js'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitForLive(`http://127.0.0.1:${PORT}/live`);
    const direct = `${sim.url}/chat-messages`;
    const viaGateway = `http://127.0.0.1:${PORT}/v1/chat-messages`;
    for (let i = 0; i < WARMUP; i++) {
      await timed(direct, appKey);
      await timed(viaGateway, key);
    }
    const d: number[] = [];
    const g: number[] = [];
    for (let i = 0; i < N; i++) {
      d.push(await timed(direct, appKey));
      g.push(await timed(viaGateway, key));
    }
    const added = g.map((v, i) => v - d[i]).sort((a, b) => a - b);
    d.sort((a, b) => a - b);
    g.sort((a, b) => a - b);
    const fmt = (v: number) => `${v.toFixed(2)} ms`;
    console.log(`small blocking chat, ${N} sequential requests each way (after ${WARMUP} warm-up), database: ${env.DATABASE_URL ? 'postgres' : 'pglite'}`);
    console.log(`direct to simulator : median ${fmt(quantile(d, 0.5))}  p99 ${fmt(quantile(d, 0.99))}`);
    console.log(`through the gateway : median ${fmt(quantile(g, 0.5))}  p99 ${fmt(quantile(g, 0.99))}`);
    console.log(
      `added by the gateway: median ${fmt(quantile(added, 0.5))}  p99 ${fmt(quantile(added, 0.99))}  (median ratio ${(quantile(g, 0.5) / quantile(d, 0.5)).toFixed(2)}x)`,
    );
  } finally {
    gateway.kill('SIGTERM');
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
