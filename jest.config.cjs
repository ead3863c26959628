/** Jest in ESM mode (see ../shared/notes/stack.md); run through `npm test`. */
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/simulator'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // Each file is transpiled on its own (tsconfig's isolatedModules): type-checking every test file's
  // whole program again was most of the suite's time; `npm run typecheck` checks types, and with
  // isolatedModules it also refuses what a per-file transpile would get wrong (decorator metadata
  // of a type-only import). Nest's DI gets its decorator metadata either way.
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  // The tests mostly wait on sockets, databases and child processes: on 2 cores, 4 workers keep the
  // CPU busy (whole suite here: 3 workers 4 min 7 s, 4 workers 3 min 41 s warm and 3 min 52 s with
  // an empty transform cache). Each test file has its own database, Redis prefix, ports and temp
  // folders (test/support).
  maxWorkers: 4,
  // Node's environment, plus the files marked `@run-alone` (timed assertions) running with no
  // other file beside them, last (test/support/run-alone.cjs).
  testEnvironment: '<rootDir>/test/support/environment.cjs',
  testSequencer: '<rootDir>/test/support/sequencer.cjs',
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // scripts/test.mjs (`npm test`) reads this reporter's summary: a file whose worker died of a
  // signal (a V8 fault, nodejs/node#64500) runs once more.
  reporters: ['default', '<rootDir>/test/support/worker-crash-reporter.cjs'],
  setupFilesAfterEnv: ['<rootDir>/test/support/require-esm.ts'],
  testTimeout: 30000,
};
