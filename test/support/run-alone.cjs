/**
 * Test files run in parallel jest workers; a file whose docblock has `@run-alone <why>` runs with
 * no other file beside it (its assertions time the gateway on a 2-core machine: "answered at once",
 * "within a second"). CommonJS, for the test environment and the sequencer (environment.cjs,
 * sequencer.cjs) that jest loads before any TypeScript.
 *
 * The lock lives in the run's temp folder (GW_TEST_RUN_DIR, global-setup.ts): every other file holds
 * an entry in `shared/` while it runs; a lone file first raises the `alone` flag (a folder: mkdir is
 * atomic), which stops new files from starting, then waits for `shared/` to empty. A file registers
 * before it looks at the flag, and the lone file raises the flag before it looks at `shared/`, so
 * the two can never both go ahead. Without GW_TEST_RUN_DIR (jest started otherwise) nothing waits.
 */
const { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const POLL_MS = 100;
/** Past this, a lone file goes ahead anyway (with a warning) rather than hang the run. */
const MAX_WAIT_MS = 15 * 60_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a test file's docblock asks to run alone (the reason after the tag, or false). */
function runsAlone(testPath) {
  const head = readFileSync(testPath, 'utf8').slice(0, 4000);
  const docblock = /^\s*\/\*\*[\s\S]*?\*\//.exec(head)?.[0] ?? '';
  // A tag, as jest reads docblock pragmas: at the start of a line. Prose that names the tag (this
  // mechanism's own spec) does not make a file wait for the others to drain.
  return /^[\s/*]*@run-alone\b/m.test(docblock);
}

function folders() {
  const runDir = process.env.GW_TEST_RUN_DIR;
  if (!runDir) return undefined;
  const shared = path.join(runDir, 'shared');
  mkdirSync(shared, { recursive: true });
  return { shared, alone: path.join(runDir, 'alone') };
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Entries of files still running (an entry of a worker that died is removed). */
function running(shared) {
  return readdirSync(shared).filter((name) => {
    if (alive(Number(name.split('-')[0]))) return true;
    rmSync(path.join(shared, name), { force: true });
    return false;
  });
}

/** Waits for this file's turn; returns the function that ends it. */
async function enter(testPath) {
  const dirs = folders();
  if (!dirs) return () => undefined;
  return runsAlone(testPath) ? enterAlone(dirs, testPath) : enterShared(dirs, testPath);
}

async function enterShared({ shared, alone }, testPath) {
  const entry = path.join(shared, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  for (;;) {
    writeFileSync(entry, testPath);
    if (!existsSync(alone)) return () => rmSync(entry, { force: true });
    rmSync(entry, { force: true });
    while (existsSync(alone)) await sleep(POLL_MS);
  }
}

async function enterAlone({ shared, alone }, testPath) {
  const deadline = Date.now() + MAX_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(alone);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      await sleep(POLL_MS); // another lone file runs
    }
  }
  writeFileSync(path.join(alone, 'file'), testPath);
  while (running(shared).length > 0) {
    if (Date.now() > deadline) {
      console.warn(`${testPath}: ran beside other test files, which did not end within ${MAX_WAIT_MS} ms`);
      break;
    }
    await sleep(POLL_MS);
  }
  return () => rmSync(alone, { recursive: true, force: true });
}

module.exports = { enter, runsAlone };
