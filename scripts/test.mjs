/**
 * `npm test`: jest (ESM mode), with one mend for a fault that is not ours. V8's registry of
 * executable WebAssembly pages (nodejs/node#64500, open, Node 22 to 26) sometimes aborts a process
 * that creates and frees much WASM code: here a jest worker, where every test file compiles Prisma's
 * query compiler and starts PGlite threads anew. The worker dies of SIGTRAP or SIGSEGV ("Check
 * failed: jit_page…"), in about one full run in twenty, and jest fails the file it was running
 * without having run its tests.
 *
 * Such a file, and only such a file, runs once more on its own, said loudly. Anything else that
 * failed (an assertion, a timeout, a file that crashes again) fails the run as before, with no
 * second run. Arguments go to jest as given; the second run keeps only `--config`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const JEST = fileURLToPath(new URL('../node_modules/jest/bin/jest.js', import.meta.url));
const args = process.argv.slice(2);
const scratch = mkdtempSync(path.join(os.tmpdir(), 'gw-test-crashes-'));

try {
  process.exitCode = main();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function main() {
  const first = runJest(args, 'first');
  if (first.status === 0) return 0;
  const outcome = first.outcome;
  if (!outcome || outcome.otherFailures > 0 || outcome.crashed.length === 0) return first.status ?? 1;

  const files = outcome.crashed.map((file) => path.relative(process.cwd(), file));
  console.error(
    `\n${'='.repeat(100)}\nscripts/test.mjs: ${files.length} file(s) lost their jest worker to a signal, not to a test: ` +
      `${files.join(', ')}.\nThe V8 WebAssembly fault of nodejs/node#64500 (SIGSEGV, or SIGTRAP after a "Fatal error … Check failed" above). ` +
      `Running only those once more.\n${'='.repeat(100)}\n`,
  );
  const second = runJest([...configArgs(args), '--runTestsByPath', ...files], 'second');
  return second.status ?? 1;
}

/** Runs jest with `argv`; its outcome as the reporter wrote it, when it wrote one. */
function runJest(argv, name) {
  const crashFile = path.join(scratch, `${name}.json`);
  const result = spawnSync(process.execPath, ['--experimental-vm-modules', JEST, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, GW_TEST_CRASH_FILE: crashFile },
  });
  if (result.error) throw result.error;
  let outcome;
  try {
    outcome = JSON.parse(readFileSync(crashFile, 'utf8'));
  } catch {
    outcome = undefined; // jest ended before its reporters did: nothing to mend
  }
  return { status: result.status, outcome };
}

/** `--config X`, `--config=X`, `-c X` of the first run, for the second. */
function configArgs(argv) {
  const kept = [];
  argv.forEach((arg, i) => {
    if (arg === '--config' || arg === '-c') kept.push(arg, argv[i + 1]);
    else if (arg.startsWith('--config=')) kept.push(arg);
  });
  return kept;
}
