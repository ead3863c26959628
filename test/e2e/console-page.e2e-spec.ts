import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { getMetadataStorage } from 'class-validator';
import { EVENT_TYPES as CONSOLE_EVENT_TYPES, FILTER_PARAMS, OUTCOMES as CONSOLE_OUTCOMES } from '../../console/src/filter-params.js';
import { EVENT_TYPES, OUTCOMES } from '../../src/audit/audit-event.js';
import { AuditFilterDto } from '../../src/audit/read/dto/audit-events-query.dto.js';
import { BUILD_SETUP_TIMEOUT_MS } from '../support/build.js';
import { buildConsole, CONSOLE_BUILD_DIR } from '../support/console-build.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

/** GET with node:http, which leaves the body as sent (supertest and fetch would gunzip it). */
function rawGet(url: string, acceptEncoding: string): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

/** The console page as the gateway serves it: headers and refusals (the browser suite drives the page itself). */
describe('GET /console', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    await buildConsole();
    gw = await startTestGateway();
  }, BUILD_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await gw?.close();
  });

  it('serves the page under a strict Content-Security-Policy, with no inline script', async () => {
    const res = await request(gw.origin).get('/console');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    // Every script is a file of this origin; no inline code, no external host.
    const scripts = [...res.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/console\/assets\/[A-Za-z0-9_-]+\.js"/);
      expect(body.trim()).toBe('');
    }
    expect(res.text).not.toMatch(/https?:\/\//);
  });

  it('serves the built assets with their types, cacheable for good', async () => {
    const files = readdirSync(path.join(CONSOLE_BUILD_DIR, 'assets'));
    const js = files.find((f) => f.endsWith('.js'))!;
    const css = files.find((f) => f.endsWith('.css'))!;
    const script = await request(gw.origin).get(`/console/assets/${js}`);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toContain('immutable');
    expect(script.headers['x-content-type-options']).toBe('nosniff');
    const style = await request(gw.origin).get(`/console/assets/${css}`);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('sends gzip to browsers that take it, and the plain bytes to those that do not', async () => {
    const js = readdirSync(path.join(CONSOLE_BUILD_DIR, 'assets')).find((f) => f.endsWith('.js'))!;
    const plain = readFileSync(path.join(CONSOLE_BUILD_DIR, 'assets', js));
    const zipped = await rawGet(`${gw.origin}/console/assets/${js}`, 'gzip, deflate, br');
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(Number(zipped.headers['content-length'])).toBeLessThan(plain.length / 2);
    expect(gunzipSync(zipped.body).equals(plain)).toBe(true);
    const identity = await rawGet(`${gw.origin}/console/assets/${js}`, 'identity');
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.body.equals(plain)).toBe(true);
  });

  it.each([
    ['an unknown asset', '/console/assets/nothing-here.js'],
    ['a path out of the folder', '/console/assets/..%2F..%2Fpackage.json'],
    ['a dotted name', '/console/assets/.env'],
    ['a type it does not serve', '/console/assets/index.html'],
  ])('answers %s with a 404 in the gateway error shape', async (_what, url) => {
    const res = await request(gw.origin).get(url);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'not_found', status: 404 });
    expect(res.text).not.toContain('"dependencies"');
  });

  it('offers every filter, event type and outcome the API has', () => {
    const dtoParams = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(AuditFilterDto, '', true, false)
        .map((m) => m.propertyName),
    );
    expect([...FILTER_PARAMS].sort()).toEqual([...dtoParams].sort());
    expect(CONSOLE_EVENT_TYPES).toEqual([...EVENT_TYPES]);
    expect(CONSOLE_OUTCOMES).toEqual([...OUTCOMES]);
  });
});
