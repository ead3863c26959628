import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigValidationError } from './env.schema.js';
import { loadGatewayConfig } from './gateway-config.js';

const KEY = 'app-0123456789abcdefghij';
const dir = mkdtempSync(join(tmpdir(), 'gw-sockets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function appsFile(apps: Record<string, { baseUrl?: string }>): string {
  const path = join(dir, `apps-${Object.keys(apps).join('-')}.json`);
  const entries = Object.entries(apps).map(([alias, app]) => [alias, { apiKeyEnv: 'APP_KEY', ...app }]);
  const doc = { apps: Object.fromEntries(entries), default: Object.keys(apps)[0] };
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe('DIFY_MAX_SOCKETS (the upstream socket cap per Dify origin)', () => {
  it('is taken as set when it covers the bulkhead', () => {
    expect(loadGatewayConfig({ DIFY_API_KEY: KEY, DIFY_MAX_CONCURRENT_CALLS: '50', DIFY_MAX_SOCKETS: '50' }).dify.maxSockets).toBe(50);
  });

  it('is refused below DIFY_MAX_CONCURRENT_CALLS, naming the variable', () => {
    let error: unknown;
    try {
      loadGatewayConfig({ DIFY_API_KEY: KEY, DIFY_MAX_CONCURRENT_CALLS: '50', DIFY_MAX_SOCKETS: '49' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as ConfigValidationError).variables).toEqual(['DIFY_MAX_SOCKETS']);
    expect((error as Error).message).toContain('must be at least DIFY_MAX_CONCURRENT_CALLS');
  });

  it('is derived when unset: every app on the busiest origin may fill its bulkhead, plus room for probes', () => {
    const shared = appsFile({ a: {}, b: {}, c: { baseUrl: 'https://other.example/v1' } });
    const cfg = loadGatewayConfig({ DIFY_APPS_FILE: shared, APP_KEY: KEY, DIFY_MAX_CONCURRENT_CALLS: '10' });
    expect(cfg.dify.maxSockets).toBe(2 * 10 + 16);
    expect(loadGatewayConfig({ DIFY_API_KEY: KEY, DIFY_MAX_CONCURRENT_CALLS: '1000' }).dify.maxSockets).toBe(1016);
  });
});
