/**
 * Fuzz: what a /v1 request passes through before Dify. Body parsing and DTO validation on every
 * JSON route of the table, the `user` rewrite of the JSON body (IsolationService.prepare) and the
 * forwarded headers. A caller can only get a 4xx GatewayError, and Dify gets exactly what came
 * in, with `user` in the caller's namespace and only allow-listed headers.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DIFY_ROUTES, type DifyRoute } from '../../src/dify/dify.routes.js';
import { forwardedHeaders, readJsonBody } from '../../src/dify/inbound-body.js';
import { IsolationService, type AdmittedCall } from '../../src/isolation/isolation.service.js';
import { UserNamespace } from '../../src/isolation/user-namespace.js';
import { fakeRequest, jsonValue, refusedOrValue, runs, trickyText } from './fuzz-support.js';
import type { Request } from 'express';

const JSON_ROUTES = DIFY_ROUTES.filter((r) => r.body === 'json');
const route = fc.constantFrom(...JSON_ROUTES);
const NS = new UserNamespace('team-fuzz');
// prepare() uses only the call's route and namespace; the owner repository is for exchange().
const isolation = new IsolationService(undefined as never);

/** Bodies a caller might send: real JSON objects, other JSON, deep nests, broken text, raw bytes. */
const body = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .dictionary(fc.oneof(trickyText(10), fc.constantFrom('user', 'inputs', 'query', 'response_mode', 'files', 'rating', 'name')), jsonValue(), { maxKeys: 8 })
      .map((o) => JSON.stringify(o)),
  },
  { weight: 2, arbitrary: jsonValue().map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => `{"user":"u","inputs":${'['.repeat(n)}${']'.repeat(n)}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => `{"inputs":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => `${'{"a":['.repeat(n)}`) },
  { weight: 2, arbitrary: trickyText(200) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')) },
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.api+json',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
);
const user = fc.oneof(fc.constant(undefined), fc.constant(null), trickyText(30), fc.integer(), fc.constant(''), fc.string({ minLength: 250, maxLength: 300 }));

/** The body as Dify reads it: a number or boolean `user` is its Python str() (§13.5). */
function asDifyReadsIt(r: DifyRoute, json: Record<string, unknown>): Record<string, unknown> {
  const name = r.user?.in === 'json' ? (r.user.name ?? 'user') : undefined;
  const value = name ? json[name] : undefined;
  if (!name || (typeof value !== 'number' && typeof value !== 'boolean')) return json;
  return { ...json, [name]: typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value) };
}

describe('fuzz: inbound JSON bodies', () => {
  it('readJsonBody answers any body on any JSON route with the body or a 4xx GatewayError', async () => {
    await fc.assert(
      fc.asyncProperty(route, body, contentType, fc.integer({ min: 1, max: 64 }), async (r, text, type, chunk) => {
        const raw = Buffer.from(text, 'utf8');
        const req = fakeRequest(raw, { 'content-type': type, 'content-length': String(raw.length) }, chunk);
        const read = await refusedOrValue(() => readJsonBody(req, r));
        if (!read) return;
        // No body is refused too, DELETE included (Dify's 415, §13.9), never sent as `{}`.
        expect(raw.length).toBeGreaterThan(0);
        expect(read.raw.equals(raw)).toBe(true);
        expect(read.json).toEqual(asDifyReadsIt(r, JSON.parse(text)));
      }),
      runs(1500),
    );
  });

  it('prepare forwards exactly the JSON that came in, with only `user` put in the namespace', async () => {
    const members = fc.dictionary(fc.oneof(trickyText(10), fc.constantFrom('inputs', 'query', 'response_mode', 'conversation_id')), jsonValue(3), {
      maxKeys: 6,
    });
    await fc.assert(
      fc.asyncProperty(route, members, user, fc.constantFrom('', ' ', '\n\t'), async (r, fields, who, ws) => {
        const sent: Record<string, unknown> = { ...fields };
        if (who !== undefined) sent.user = who;
        const text = ws + JSON.stringify(sent, null, ws.length > 1 ? 1 : undefined) + ws;
        const raw = Buffer.from(text, 'utf8');
        const req = fakeRequest(raw, {
          'content-type': 'application/json',
          'content-length': String(raw.length),
          authorization: 'Bearer dgw_x',
          cookie: 'c=1',
        }) as unknown as Request;
        const call = { route: r, ns: NS } as AdmittedCall;
        const prepared = await refusedOrValue(() => isolation.prepare(call, req, ''));
        if (!prepared) return;
        const forwarded = JSON.parse((prepared.body as Buffer).toString('utf8')) as Record<string, unknown>;
        const expected = JSON.parse(text) as Record<string, unknown>;
        if (r.user?.in === 'json') {
          expect(typeof forwarded.user).toBe('string');
          expect(NS.owns(forwarded.user as string)).toBe(true);
          expect(forwarded.user).toBe(NS.wrap(expected.user as string | undefined | null));
          expected.user = forwarded.user;
        }
        expect(forwarded).toEqual(expected);
        expect(Object.keys(prepared.headers).sort()).toEqual(['content-type']);
      }),
      runs(1000),
    );
  });

  it('forwardedHeaders passes only the allow-list, values unchanged', () => {
    const allowed = ['content-type', 'content-length', 'accept', 'accept-language', 'x-trace-id', 'traceparent', 'tracestate'];
    const name = fc.oneof(
      fc.constantFrom(
        ...allowed,
        'authorization',
        'cookie',
        'x-api-key',
        'x-dify-api-key',
        'X-Dify-Api-Key',
        'host',
        'connection',
        'x-forwarded-for',
        'x-dify-trace',
        'x-gateway-app',
        'proxy-authorization',
      ),
      fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
    );
    fc.assert(
      fc.property(fc.dictionary(name, fc.oneof(trickyText(20), fc.array(trickyText(5), { maxLength: 2 }))), fc.boolean(), (headers, includeBody) => {
        const req = fakeRequest(Buffer.alloc(0), {});
        (req as { headers: unknown }).headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
        const out = forwardedHeaders(req, includeBody);
        for (const [key, value] of Object.entries(out)) {
          const ok = allowed.includes(key) || (key.startsWith('x-dify-') && key !== 'x-dify-api-key');
          expect({ key, ok }).toEqual({ key, ok: true });
          expect(value).toBe(req.headers[key]);
          if (!includeBody) expect(['content-type', 'content-length']).not.toContain(key);
        }
      }),
      runs(1000),
    );
  });
});
