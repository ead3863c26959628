/**
 * `npm run demo`: the gateway on its embedded default (PGlite in ./data/demo) in front of the
 * bundled Dify simulator. Creates a caller key and prints the base URL, the key and a curl line.
 * Ctrl-C stops everything.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startDifySimulator } from '../simulator/dify-simulator.js';

const PORT = Number(process.env.DEMO_PORT ?? 3000);
const SIM_PORT = Number(process.env.DEMO_SIMULATOR_PORT ?? 0);

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
  const appKey = `app-${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 24)}`;
  const sim = await startDifySimulator({ port: SIM_PORT, apps: [{ key: appKey, mode: 'chat', name: 'Demo chatbot' }] });
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
    execFileSync('node', ['dist/cli.js', 'keys', 'create', '--name', 'demo-team', '--app', 'default', '--scopes', 'chat,workflow,files,conversations,feedback,audio,app:read,annotations,audit:read', '--json'], { env, encoding: 'utf8' }),
  ) as { key: string };

  const gateway = spawn('node', ['dist/main.js'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const stop = async () => {
    gateway.kill('SIGTERM');
    await sim.close();
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
  gateway.on('exit', (code) => {
    void sim.close().then(() => process.exit(code ?? 1));
  });

  const origin = `http://127.0.0.1:${PORT}`;
  await waitForLive(`${origin}/live`, 60_000);
  console.log(`
dify-gateway demo is running (Ctrl-C to stop)
  base URL : ${origin}/v1
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

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
