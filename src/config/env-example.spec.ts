import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigValidationError, ENV_VARIABLES, findPackageRoot } from './env.schema.js';
import { loadGatewayConfig } from './gateway-config.js';

const example = readFileSync(join(findPackageRoot(), '.env.example'), 'utf8');

/** The active (uncommented) `NAME=value` lines of .env.example. */
function activeLines(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of example.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

describe('.env.example', () => {
  it('documents every variable the gateway reads', () => {
    for (const name of ENV_VARIABLES) expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });

  it('is valid apart from its placeholder key, which boot refuses', () => {
    let error: unknown;
    try {
      loadGatewayConfig(activeLines());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as ConfigValidationError).variables).toEqual(['DIFY_API_KEY']);
    const cfg = loadGatewayConfig({ ...activeLines(), DIFY_API_KEY: 'app-0123456789abcdefghij' });
    expect(cfg.app.port).toBe(3000);
  });
});
