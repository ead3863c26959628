import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIFY_ROUTES } from './dify.routes.js';
import { DIFY_ENDPOINT_COUNT, renderEndpointTable, withEndpointTable } from './endpoint-table.js';

describe('the README endpoint table', () => {
  it('accounts for every Dify endpoint, each once', () => {
    expect(DIFY_ROUTES).toHaveLength(DIFY_ENDPOINT_COUNT);
    expect(new Set(DIFY_ROUTES.map((r) => `${r.method} ${r.path}`)).size).toBe(DIFY_ENDPOINT_COUNT);
    expect(new Set(DIFY_ROUTES.map((r) => r.name)).size).toBe(DIFY_ENDPOINT_COUNT);
    expect(DIFY_ROUTES.filter((r) => r.target === 'dataset')).toHaveLength(52);
  });

  it('is the one rendered from the route table (run npm run docs:endpoints after changing a row)', () => {
    const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
    expect(withEndpointTable(readme)).toBe(readme);
    expect(readme).toContain(renderEndpointTable());
  });
});
