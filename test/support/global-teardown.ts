// Jest global teardown (CommonJS, like global-setup.ts): removes the run's temp folder.
import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.GW_TEST_RUN_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
