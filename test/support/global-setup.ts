// Jest global setup: nothing shared yet beyond checking the Node version the suite expects.
export default async function globalSetup(): Promise<void> {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new Error(`Node 20+ required, found ${process.versions.node}`);
}
