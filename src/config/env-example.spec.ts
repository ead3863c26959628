import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigValidationError, ENV_TABLE, ENV_VARIABLES, findPackageRoot } from './env.schema.js';
import { loadGatewayConfig } from './gateway-config.js';

const example = readFileSync(join(findPackageRoot(), '.env.example'), 'utf8');
const readme = readFileSync(join(findPackageRoot(), 'README.md'), 'utf8');

/** A default as `.env.example` writes it (computed defaults, such as a path, are left out). */
const literalDefaults = Object.entries(ENV_TABLE)
  .filter(([, spec]) => typeof spec.default === 'string')
  .map(([name, spec]) => [name, spec.default as string] as const);

/** The variable cells of the README's configuration tables (`| variable | default | meaning |`). */
function readmeVariableRows(): { names: string; defaults: string }[] {
  return readme
    .split('\n')
    .filter((line) => /^\| `[A-Z][A-Z0-9_*]*`/.test(line))
    .map((line) => line.split(' | '))
    .map(([names, defaults]) => ({ names: names!.slice(2), defaults: defaults ?? '' }));
}

/** Whether a README cell names `name`: itself, a `PREFIX_*` or `A_*_B` pattern, or a `_SUFFIX` after a sibling. */
function mentions(cell: string, name: string): boolean {
  const words = [...cell.matchAll(/`([A-Z_*][A-Z0-9_*]*)`/g)].map((m) => m[1]!);
  return words.some((word) => {
    if (word === name) return true;
    if (word.includes('*')) return new RegExp(`^${word.replace(/\*/g, '[A-Z0-9_]+')}$`).test(name);
    return word.startsWith('_') && name.endsWith(word) && words.some((sibling) => sibling.startsWith(`${name.slice(0, -word.length)}_`));
  });
}

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

  it('gives each variable its default', () => {
    for (const [name, value] of literalDefaults) expect(`${name}=${activeLines()[name] ?? value}`).toBe(`${name}=${value}`);
  });
});

describe("the README's configuration tables", () => {
  const rows = readmeVariableRows();

  it("name every variable the gateway reads (a secret's _FILE form with it)", () => {
    const missing = Object.keys(ENV_TABLE).filter((name) => !rows.some((row) => mentions(row.names, name)));
    expect(missing).toEqual([]);
  });

  it('give the default of each variable they name alone', () => {
    for (const row of rows) {
      const single = /^`([A-Z][A-Z0-9_]*)`$/.exec(row.names.trim());
      const spec = single ? (ENV_TABLE as Record<string, { default?: unknown }>)[single[1]!] : undefined;
      const shown = /^`([^`]*)`/.exec(row.defaults.trim());
      if (spec && typeof spec.default === 'string' && shown) expect(`${single![1]} = ${shown[1]}`).toBe(`${single![1]} = ${spec.default}`);
    }
  });
});
