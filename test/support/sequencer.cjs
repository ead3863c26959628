/**
 * Jest's order (failed first, then the slowest first), except that the files that run alone
 * (`@run-alone`, run-alone.cjs) come last: they then cost the run only their own time, at its end,
 * instead of holding the other workers idle in the middle of it.
 *
 * "Slowest" is jest's cache of the last run on this machine, else durations.json (committed, from
 * a full run: write-durations.cjs). Without either, jest falls back to file size, and in a fresh
 * clone (CI) that put files of minutes behind dozens of short ones, leaving them to end the run alone.
 */
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const { runsAlone } = require('./run-alone.cjs');
const DURATIONS = require('./durations.json');

const ROOT = path.resolve(__dirname, '../..');

class GatewaySequencer extends Sequencer {
  time(test) {
    const known = DURATIONS[path.relative(ROOT, test.path)];
    return super.time(test) ?? (known === undefined ? undefined : known * 1000);
  }

  async sort(tests) {
    const sorted = await super.sort(tests);
    const alone = sorted.filter((test) => runsAlone(test.path));
    return [...sorted.filter((test) => !alone.includes(test)), ...alone];
  }
}

module.exports = GatewaySequencer;
