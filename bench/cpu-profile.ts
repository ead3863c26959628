/**
 * `npm run bench:cpu-profile`: a CPU profile of the gateway under closed-loop load.
 *
 * Starts the Dify simulator and the built gateway (`node --cpu-prof dist/main.js`) on a fresh
 * Postgres database (PROFILE_ADMIN_URL, default the local server as `postgres`; PGlite with
 * PROFILE_DB=pglite), loads it with autocannon (PROFILE_CONNECTIONS=32 connections, small blocking
 * chats, PROFILE_SECONDS=15), stops it with SIGTERM so the profile is written, and prints the
 * load figures and the profile's top entries (bench/summarize-cpuprofile.ts). Figures only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { startDifySimulator } from '../simulator/dify-simulator.js';
import { summarize } from './summarize-cpuprofile.js';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.PROFILE_CONNECTIONS ?? 32);
const PORT = Number(process.env.PROFILE_PORT ?? 3901);
const ADMIN_URL = process.env.PROFILE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const BODY = JSON.stringify({ inputs: {}, query: 'Hi', user: 'bench', response_mode: 'blocking' });

async function waitForLive(url: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('gateway did not start');
}

async function main(): Promise<void> {
  const appKey = 'app-benchBENCHbench0123456789';
  const sim = await startDifySimulator({ apps: [{ key: appKey, mode: 'chat' }], answer: 'ok', streamChunkDelayMs: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'gw-profile-'));
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  const dbName = `gw_profile_${process.pid}`;
  const usePostgres = process.env.PROFILE_DB !== 'pglite';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(PORT),
    HOST: '127.0.0.1',
    DIFY_BASE_URL: sim.url,
    DIFY_API_KEY: appKey,
    DIFY_ALLOW_INSECURE_HTTP: 'true',
    PGLITE_DIR: join(dir, 'pglite'),
    LOG_LEVEL: 'warn',
  };
  delete env.DATABASE_URL;
  if (usePostgres) {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    env.DATABASE_URL = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).href;
  }
  try {
    const cli = ['dist/cli.js', 'keys', 'create', '--name', 'bench', '--scopes', 'chat', '--rpm', '0', '--streams', '0', '--json'];
    const { key } = JSON.parse(execFileSync('node', cli, { env, encoding: 'utf8' })) as { key: string };
    const gateway = spawn('node', ['--cpu-prof', `--cpu-prof-dir=${dir}`, 'dist/main.js'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForLive(`http://127.0.0.1:${PORT}/live`);
    const load = (duration: number) =>
      autocannon({
        url: `http://127.0.0.1:${PORT}/v1/chat-messages`,
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: BODY,
        connections: CONNECTIONS,
        duration,
      });
    await load(3); // warm-up (JIT, pools)
    const result = await load(SECONDS);
    gateway.kill('SIGTERM');
    await once(gateway, 'exit');
    const non2xx = result.non2xx + result.errors + result.timeouts;
    console.log(
      `${CONNECTIONS} connections, ${SECONDS} s, ${usePostgres ? 'postgres' : 'pglite'}: ${result.requests.average.toFixed(0)} rps, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${non2xx} not 2xx`,
    );
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('no .cpuprofile written');
    console.log(`profile: ${join(dir, file)}\n`);
    console.log(summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')), Number(process.env.PROFILE_TOP ?? 15)));
  } finally {
    await sim.close();
    if (usePostgres) {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  }
}

main().catch((error: unknown) => {
  console.error(`profile failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
