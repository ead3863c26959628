import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const BUILD_TIMEOUT_MS = 300_000;

/** For a `beforeAll` that awaits `ensureBuilt()`: the build, or the wait for another worker's, plus its own setup. */
export const BUILD_SETUP_TIMEOUT_MS = BUILD_TIMEOUT_MS + 60_000;

/** Set by the global setup: a temp folder of this `jest` run, shared by its workers (see global-setup.ts). */
const RUN_DIR_VARIABLE = 'GW_TEST_RUN_DIR';

let built: Promise<void> | undefined;

/**
 * `npm run build` (the gateway into dist/ and the console into dist/console-ui) once per jest run,
 * whatever the number of workers: the suites that run `node dist/main.js` or serve the console test
 * the sources as they are now. Parallel workers building at once would rewrite dist/ under each
 * other's child processes, so the first worker to take the lock builds and the others wait for it.
 */
export function ensureBuilt(): Promise<void> {
  built ??= buildOncePerRun().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

async function buildOncePerRun(): Promise<void> {
  const runDir = process.env[RUN_DIR_VARIABLE];
  if (!runDir) return build(); // not started by our jest config: this process builds for itself
  const dir = path.join(runDir, 'build');
  const result = path.join(dir, 'result');
  try {
    await mkdir(dir); // atomic: exactly one worker of the run gets here
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return waitForResult(result);
  }
  try {
    await build();
    await publish(result, 'ok');
  } catch (error) {
    await publish(result, `failed: ${(error as Error).message}`);
    throw error;
  }
}

/** Written beside, then renamed: a waiting worker never reads half a result. */
async function publish(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

async function build(): Promise<void> {
  await run('npm', ['run', '-s', 'build'], { cwd: ROOT, timeout: BUILD_TIMEOUT_MS });
}

async function waitForResult(file: string): Promise<void> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === 'ok') return;
    if (text !== undefined) throw new Error(`the build of another test worker ${text}`);
    if (Date.now() > deadline) throw new Error('timed out waiting for another test worker to build');
    await new Promise((r) => setTimeout(r, 200));
  }
}
