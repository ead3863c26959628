import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DifyErrors } from './dify-errors.js';
import type { ErrorFactory } from './error-entry.js';
import { GatewayErrors } from './gateway-errors.js';

/** Codes the README names that are Dify's own, passed through by `DifyErrors.rejected` / `busy`. */
const DIFY_OWN_CODES = new Set(['rate_limit_error']);

const CATALOG: [string, ErrorFactory<never[]>][] = Object.entries({ ...GatewayErrors, ...DifyErrors }) as [string, ErrorFactory<never[]>][];

/** The README's "Errors" table: one row per cause, its status cell and its code cell. */
function readmeRows(): { status: string; code: string }[] {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Errors\n'), readme.indexOf('\n## Resilience\n'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| what happened'))
    .map((line) => line.split(' | '))
    .map(([, status, code]) => ({ status: status ?? '', code: code ?? '' }));
}

const codesIn = (text: string): string[] => [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);

describe('the README Errors table', () => {
  const rows = readmeRows();

  it('is found', () => {
    expect(rows.length).toBeGreaterThan(30);
  });

  it.each(CATALOG.filter(([, f]) => f.code !== 'dify'))('documents %s: a row with its status and code', (_name, factory) => {
    const row = rows.find(
      (r) => `${r.status} ${r.code}`.includes(`\`${String(factory.code)}\``) && (factory.status === 'dify' || r.status.includes(String(factory.status))),
    );
    expect(row).toBeDefined();
  });

  it('names no gateway code the catalog does not have', () => {
    const known = new Set(CATALOG.map(([, f]) => String(f.code)));
    const named = rows.flatMap((r) => codesIn(`${r.status} ${r.code}`)).filter((code) => code !== 'error' && code !== 'message');
    expect(named.filter((code) => !known.has(code) && !DIFY_OWN_CODES.has(code))).toEqual([]);
  });
});

describe('the error catalog', () => {
  it('builds each answer with the status and code it declares', () => {
    expect(GatewayErrors.auditUnavailable()).toMatchObject({ status: 503, code: 'audit_unavailable', headers: { 'retry-after': '5' } });
    expect(GatewayErrors.methodNotAllowed(['GET', 'POST'])).toMatchObject({ status: 405, headers: { allow: 'GET, POST' } });
    expect(DifyErrors.rejected(422, 'unprocessable_entity', 'no')).toMatchObject({ status: 422, code: 'unprocessable_entity', message: 'no' });
    expect(DifyErrors.busy('rate_limit_error', 'quota', '30')).toMatchObject({ status: 429, code: 'rate_limit_error', headers: { 'retry-after': '30' } });
  });

  it('gives a database outage one answer wherever it is met', () => {
    expect(GatewayErrors.auditUnavailable().message).toBe(GatewayErrors.auditUnavailable().message);
    expect(GatewayErrors.auditUnavailable().message).toMatch(/no request was sent to Dify/);
  });
});
