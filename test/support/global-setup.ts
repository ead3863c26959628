// Jest global setup: checks the Node version and builds the blank PGlite template once, so that
// no test file pays the few seconds a brand-new PGlite folder costs.
import { preparePgliteTemplate } from './database.js';

export default async function globalSetup(): Promise<void> {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new Error(`Node 20+ required, found ${process.versions.node}`);
  await preparePgliteTemplate();
}
