// Jest global setup (loaded as CommonJS by jest, so it imports nothing of ours). The PGlite
// template folder is built by the first test that needs one and cached in the temp folder.
export default async function globalSetup(): Promise<void> {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new Error(`Node 20+ required, found ${process.versions.node}`);
}
