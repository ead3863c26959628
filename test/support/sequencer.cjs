/**
 * Jest's order (failed first, then the slowest or largest first), except that the files that run
 * alone (`@run-alone`, run-alone.cjs) come last: they then cost the run only their own time, at
 * its end, instead of holding the other workers idle in the middle of it.
 */
const Sequencer = require('@jest/test-sequencer').default;
const { runsAlone } = require('./run-alone.cjs');

class GatewaySequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const alone = sorted.filter((test) => runsAlone(test.path));
    return [...sorted.filter((test) => !alone.includes(test)), ...alone];
  }
}

module.exports = GatewaySequencer;
