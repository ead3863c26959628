/**
 * The test environment: Node's, plus the turn of a file among the parallel workers (run-alone.cjs):
 * a file with `@run-alone` in its docblock waits until no other file runs, and the others wait
 * while it runs. Around the whole file, its module loading and its afterAll hooks included.
 */
const { TestEnvironment } = require('jest-environment-node');
const { enter } = require('./run-alone.cjs');

class GatewayTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
  }

  async setup() {
    this.leave = await enter(this.testPath);
    await super.setup();
  }

  async teardown() {
    try {
      await super.teardown();
    } finally {
      this.leave?.();
    }
  }
}

module.exports = GatewayTestEnvironment;
