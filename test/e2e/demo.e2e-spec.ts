import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, DATABASE_SETUP_TIMEOUT_MS, type TestDatabase } from '../support/database.js';
import { ensureBuilt, freePort } from '../support/gateway-process.js';

/** `npm run demo` as a newcomer meets it (scripts/demo.ts, run after the build like the npm script does). */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Demo {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

function startDemo(env: Record<string, string>): Demo {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (c: Buffer) => (output.stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (output.stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

beforeAll(() => ensureBuilt(), 300_000);

describe('npm run demo', () => {
  let busy: Server;
  let busyPort: number;
  let db: TestDatabase;

  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
    db = await createTestDatabase('pglite');
  }, DATABASE_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await new Promise((resolve) => busy?.close(resolve));
    await db?.drop();
  });

  it('on a port clash says what to do in one line, and exits non-zero without a stack trace', async () => {
    const demo = startDemo({ DEMO_PORT: String(busyPort), PGLITE_DIR: db.pgliteDir });
    expect(await demo.exited).toBe(1);
    expect(demo.output.stdout).toBe('');
    expect(demo.output.stderr).toBe(
      `demo: port ${busyPort} on 127.0.0.1 is already in use (another demo or gateway?). ` +
        `Stop it, or pick another port: DEMO_PORT=${busyPort + 1} npm run demo\n`,
    );
  }, 60_000);

  it('prints its banner after a few lines, not Nest boot noise; a first verify reads calm', async () => {
    const port = await freePort();
    const demo = startDemo({ DEMO_PORT: String(port), PGLITE_DIR: db.pgliteDir });
    try {
      const deadline = Date.now() + 150_000;
      while (!demo.output.stdout.includes('Try it:') && Date.now() < deadline) {
        if (demo.child.exitCode !== null) throw new Error(`demo exited: ${demo.output.stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const before = demo.output.stdout.slice(0, demo.output.stdout.indexOf('dify-gateway demo is running')).trim().split('\n');
      // The config summary, the database, the listening line: what an operator wants at boot.
      expect(before.length).toBeLessThanOrEqual(4);
      expect(before.join('\n')).not.toMatch(/InstanceLoader|RoutesResolver|RouterExplorer|NestFactory|NestApplication/);
      expect(demo.output.stdout).toContain(`base URL : http://127.0.0.1:${port}/v1   (port: DEMO_PORT, default 3000)`);
      expect(demo.output.stderr).toBe('');

      const key = /key {6}: (dgw_\w+)/.exec(demo.output.stdout)![1];
      const verify = await fetch(`http://127.0.0.1:${port}/audit/verify`, { headers: { authorization: `Bearer ${key}` } });
      const report = (await verify.json()) as { ok: boolean; summary: string; warnings: string[] };
      expect(report.ok).toBe(true);
      const verified = String.raw`^OK: \d+ events? verified \(seq 1-\d+\), 0 checkpoints, signatures checked, chain walked from the genesis`;
      const calm = new RegExp(`${verified}(; \\d+ pending \\(\\d+ ms old\\): sealing runs every 100 ms)?\\.$`);
      expect(report.summary).toMatch(calm);
      expect(report.warnings).toEqual([]);
    } finally {
      demo.child.kill('SIGTERM');
      await demo.exited;
    }
  }, 200_000);
});
