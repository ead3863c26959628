// Jest global setup (loaded as CommonJS by jest, so it imports nothing of ours). The PGlite
// template folder is built by the first test that needs one and cached in the temp folder.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default async function globalSetup(): Promise<void> {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new Error(`Node 20+ required, found ${process.versions.node}`);
  // One temp folder per run, inherited by every worker: where they agree that one of them builds
  // dist/ (test/support/build.ts). Removed by global-teardown.ts.
  process.env.GW_TEST_RUN_DIR = mkdtempSync(path.join(os.tmpdir(), 'gw-test-run-'));
}
