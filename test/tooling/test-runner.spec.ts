import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * scripts/test.mjs (`npm test`): a file whose jest worker was killed by a signal runs once more,
 * and nothing else ever does. Each case is a real nested jest run over the fixture files.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = 'test/tooling/fixtures/worker-crash/jest.config.cjs';

interface Run {
  code: number | null;
  output: string;
  /** How many times dies.check.cjs started. */
  diesRuns: number;
}

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gw-test-runner-'));
});
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function runTests(mode: 'crash-once' | 'crash-always', other: 'pass' | 'fail'): Promise<Run> {
  const log = path.join(scratch, 'runs.log');
  await writeFile(log, '');
  const child = spawn(process.execPath, ['scripts/test.mjs', '--config', CONFIG], {
    cwd: ROOT,
    env: { ...process.env, FIXTURE_MODE: mode, FIXTURE_OTHER: other, FIXTURE_LOG: log, FIXTURE_CACHE: path.join(scratch, 'cache'), GW_TEST_CRASH_FILE: '' },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const diesRuns = (await readFile(log, 'utf8')).split('\n').filter((l) => l === 'dies.check ran').length;
  return { code, output, diesRuns };
}

it('runs a file whose worker died of a signal once more, and the run passes when it then passes', async () => {
  const run = await runTests('crash-once', 'pass');
  expect(run.output).toMatch(/terminated by another process: signal=SIGTRAP/);
  expect(run.output).toMatch(/1 file\(s\) lost their jest worker to a signal, not to a test: .*dies\.check\.cjs/);
  expect(run.diesRuns).toBe(2);
  expect(run.code).toBe(0);
}, 60_000);

it('fails the run when the file dies again', async () => {
  const run = await runTests('crash-always', 'pass');
  expect(run.diesRuns).toBe(2);
  expect(run.code).not.toBe(0);
}, 60_000);

it('runs nothing again when another file failed as a test fails', async () => {
  const run = await runTests('crash-once', 'fail');
  expect(run.output).toMatch(/terminated by another process: signal=SIGTRAP/);
  expect(run.output).not.toMatch(/lost their jest worker/);
  expect(run.diesRuns).toBe(1);
  expect(run.code).toBe(1);
}, 60_000);
