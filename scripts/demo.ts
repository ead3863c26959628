/**
 * `npm run demo`: the gateway on its embedded default (PGlite in ./data/demo) in front of the
 * bundled Dify simulator. Creates a caller key and prints the base URL, the key and a curl line.
 * Ctrl-C stops everything. `DEMO_PORT` (default 3000) is the gateway's port on 127.0.0.1,
 * `DEMO_SIMULATOR_PORT` (default: any free one) the simulator's.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { startDifySimulator } from '../simulator/dify-simulator.js';

const PORT = port('DEMO_PORT', 3000);
const DEMO_SCOPES = 'chat,workflow,files,conversations,feedback,audio,app:read,annotations,audit:read';
const SIM_PORT = port('DEMO_SIMULATOR_PORT', 0);

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) fail(`${name} must be a port number (0-65535), not "${raw}".`);
  return Number(raw);
}

function fail(line: string): never {
  console.error(`demo: ${line}`);
  process.exit(1);
}

/** The one line a port clash deserves: what is wrong and the fix. */
function portClash(name: string, busy: number): never {
  const other = busy === 65535 ? busy - 1 : busy + 1;
  fail(`port ${busy} on 127.0.0.1 is already in use (another demo or gateway?). Stop it, or pick another port: ${name}=${other} npm run demo`);
}

/** Fails at once, before anything starts, when the gateway's port is taken. */
async function checkPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? portClash('DEMO_PORT', port) : fail(`cannot listen on 127.0.0.1:${port}: ${error.code ?? error.message}`),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

async function waitForLive(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the gateway did not come up at ${url} within ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  if (PORT === 0) fail('DEMO_PORT=0 is not supported: the banner needs to know the port. Pick a free port, e.g. DEMO_PORT=3001.');
  await checkPortFree(PORT);
  const appKey = `app-${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 24)}`;
  const sim = await startDifySimulator({ port: SIM_PORT, apps: [{ key: appKey, mode: 'chat', name: 'Demo chatbot' }] }).catch((error: NodeJS.ErrnoException) =>
    error.code === 'EADDRINUSE' ? portClash('DEMO_SIMULATOR_PORT', SIM_PORT) : Promise.reject(error),
  );
  // The audit log's signing key: made once and kept beside the demo database (a mounted secret in production).
  const signingKey = path.resolve('./data/demo-audit-signing-key');
  if (!existsSync(signingKey)) {
    mkdirSync(path.dirname(signingKey), { recursive: true });
    writeFileSync(signingKey, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(PORT),
    HOST: '127.0.0.1',
    DIFY_BASE_URL: sim.url,
    DIFY_API_KEY: appKey,
    DIFY_ALLOW_INSECURE_HTTP: 'true', // the simulator speaks plain http on loopback
    PGLITE_DIR: process.env.PGLITE_DIR ?? './data/demo',
    AUDIT_SIGNING_KEY_FILE: process.env.AUDIT_SIGNING_KEY_FILE ?? signingKey,
    LOG_FORMAT: process.env.LOG_FORMAT ?? 'text',
  };
  delete env.DATABASE_URL;

  // PGlite is single-process: create the key before the gateway opens the database.
  const created = JSON.parse(
    execFileSync('node', ['dist/cli.js', 'keys', 'create', '--name', 'demo-team', '--app', 'default', '--scopes', DEMO_SCOPES, '--json'], {
      env,
      encoding: 'utf8',
    }),
  ) as { key: string };

  const gateway = spawn('node', ['dist/main.js'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const stop = async () => {
    gateway.kill('SIGTERM');
    await sim.close();
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
  let live = false;
  gateway.on('exit', (code) => {
    // Taken between the check and the gateway's listen: the same one line.
    if (!live && code !== 0) {
      console.error(`demo: the gateway stopped during start (exit code ${code}); if the port is taken, pick another: DEMO_PORT=${PORT + 1} npm run demo`);
    }
    void sim.close().then(() => process.exit(code ?? 1));
  });

  const origin = `http://127.0.0.1:${PORT}`;
  await waitForLive(`${origin}/live`, 60_000);
  live = true;
  console.log(`
dify-gateway demo is running (Ctrl-C to stop)
  base URL : ${origin}/v1   (port: DEMO_PORT, default 3000)
  key      : ${created.key}
  simulator: ${sim.url}

Try it:
  curl -s ${origin}/v1/chat-messages \\
    -H 'Authorization: Bearer ${created.key}' -H 'Content-Type: application/json' \\
    -d '{"inputs":{},"query":"Hello","user":"alice","response_mode":"blocking"}'

  curl -s '${origin}/audit/events?limit=5' -H 'Authorization: Bearer ${created.key}'
  curl -s '${origin}/audit/verify' -H 'Authorization: Bearer ${created.key}'
`);
}

main().catch((error: unknown) => fail(`failed: ${error instanceof Error ? error.message : String(error)}`));
