/**
 * A jest reporter for scripts/test.mjs: at the end of a run it writes, to the file named by
 * GW_TEST_CRASH_FILE, which files failed because their jest worker process was killed by a signal
 * (jest then fails the file without having run its tests) and how many failed otherwise. Without
 * GW_TEST_CRASH_FILE (jest started otherwise) it does nothing.
 */
const { writeFileSync } = require('node:fs');

/** jest-worker's words when a child dies of a signal it did not send (SIGSEGV, SIGTRAP, SIGABRT…). */
const WORKER_KILLED = /jest worker process \(pid=\d+\) was terminated by another process: signal=SIG[A-Z]+/;

/** The run's outcome as scripts/test.mjs reads it: crashed files, and failures of any other kind. */
function summarize(results) {
  const crashed = [];
  let otherFailures = 0;
  for (const file of results.testResults) {
    const killed = file.testExecError && WORKER_KILLED.test(file.testExecError.message ?? '');
    if (killed) crashed.push(file.testFilePath);
    else if (file.testExecError || file.numFailingTests > 0) otherFailures += 1;
  }
  // A run can fail outside any file (a global setup that throws, an interrupted run).
  if (otherFailures === 0 && crashed.length === 0 && !results.success) otherFailures = 1;
  return { crashed, otherFailures };
}

class WorkerCrashReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.GW_TEST_CRASH_FILE;
    if (file) writeFileSync(file, JSON.stringify(summarize(results)));
  }
}

module.exports = WorkerCrashReporter;
