// Jest global setup: checks the Node version and builds the blank PGlite template once, so that
// no test file pays the few seconds a brand-new PGlite folder costs. Jest loads this file as
// CommonJS, so the ESM template builder runs in a child process through tsx.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default async function globalSetup(): Promise<void> {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new Error(`Node 20+ required, found ${process.versions.node}`);
  execFileSync(process.execPath, ['--import', 'tsx', join(process.cwd(), 'test', 'support', 'prepare-pglite-template.ts')], { stdio: 'inherit' });
}
