import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Writes a `DIFY_APPS_FILE` for extra Dify apps next to the `default` one (from DIFY_API_KEY):
 * `{ flow: 'FLOW_DIFY_KEY' }` adds app alias `flow` whose key is read from that variable.
 * Returns the env to pass to startTestGateway (file path plus the key variables) and a cleanup.
 */
export function appsFileEnv(apps: Record<string, { env: string; key: string }>): { env: Record<string, string>; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-apps-'));
  const file = path.join(dir, 'apps.json');
  const doc = { apps: Object.fromEntries(Object.entries(apps).map(([alias, a]) => [alias, { apiKeyEnv: a.env }])) };
  writeFileSync(file, JSON.stringify(doc));
  const env: Record<string, string> = { DIFY_APPS_FILE: file };
  for (const a of Object.values(apps)) env[a.env] = a.key;
  return { env, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
