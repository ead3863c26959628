/**
 * Rewrites test/support/durations.json from a run's JSON report, for the sequencer (sequencer.cjs):
 *   npm test -- --json --outputFile=/tmp/run.json && node test/support/write-durations.cjs /tmp/run.json
 * Seconds per file, rounded: only their order matters.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const durations = Object.fromEntries(
  report.testResults.map((r) => [path.relative(ROOT, r.name), Math.max(1, Math.round((r.endTime - r.startTime) / 1000))]).sort(([a], [b]) => (a < b ? -1 : 1)),
);
writeFileSync(path.join(__dirname, 'durations.json'), `${JSON.stringify(durations, null, 2)}\n`);
