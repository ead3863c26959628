/**
 * The API docs: /docs-json is a valid OpenAPI document listing every route-table row and every
 * route of every Nest controller; /docs is Swagger UI served from the gateway itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { DIFY_ROUTES } from '../../src/dify/dify.routes.js';
import { openApiPath } from '../../src/openapi/v1-paths.js';
import { call } from '../support/call.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      { security?: Record<string, string[]>[]; requestBody?: { content: Record<string, { schema: { $ref?: string } }> }; responses: Record<string, unknown> }
    >
  >;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
};

/** Every route Nest serves, as `GET /admin/keys/{id}`, read from the controllers' metadata. */
function nestRoutes(gw: TestGateway): string[] {
  const routes: string[] = [];
  for (const mod of gw.app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const type = wrapper.metatype as (new () => object) | undefined;
      if (!type) continue;
      const bases = [Reflect.getMetadata(PATH_METADATA, type) as string | string[]].flat();
      for (const name of Object.getOwnPropertyNames(type.prototype)) {
        const handler = (type.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (paths === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        for (const base of bases) {
          for (const path of [paths].flat()) {
            const full = `/${[base, path].filter((p) => p && p !== '/').join('/')}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
            routes.push(`${method} ${full}`);
          }
        }
      }
    }
  }
  return routes;
}

describe('API docs', () => {
  let gw: TestGateway;
  let doc: Doc;

  beforeAll(async () => {
    gw = await startTestGateway();
    const res = await call(gw.origin, '/docs-json');
    expect(res.status).toBe(200);
    doc = res.json as Doc;
  });
  afterAll(() => gw?.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('has every route-table row as an operation, with its scope as the security requirement', () => {
    for (const route of DIFY_ROUTES) {
      const op = doc.paths[openApiPath(route)]?.[route.method.toLowerCase()];
      expect(`${route.name}: ${JSON.stringify(op?.security)}`).toBe(`${route.name}: ${JSON.stringify([{ gatewayKey: [route.scope] }])}`);
      expect(op.responses.default).toEqual({ $ref: '#/components/responses/Error' });
      if (route.dto) expect(op.requestBody?.content['application/json'].schema.$ref).toBe(`#/components/schemas/${route.dto.name}`);
    }
    const v1 = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/v1'))
      .flatMap(([, item]) => Object.keys(item));
    expect(v1).toHaveLength(DIFY_ROUTES.length);
  });

  it('has every route of every controller (the /v1 catch-all is the route table above)', () => {
    const routes = nestRoutes(gw);
    expect(routes).toEqual(expect.arrayContaining(['GET /live', 'GET /ready', 'GET /metrics', 'POST /admin/keys', 'GET /audit/events/{id}', 'GET /docs']));
    const missing = routes
      .filter((r) => !r.startsWith('ALL /v1'))
      .filter((r) => {
        const [method, path] = r.split(' ');
        return doc.paths[path]?.[method.toLowerCase()] === undefined;
      });
    expect(missing).toEqual([]);
  });

  it("describes bodies from the DTOs and errors in Dify's shape", () => {
    const chat = doc.components.schemas.ChatMessageDto;
    expect(chat.required).toEqual(expect.arrayContaining(['query', 'user', 'inputs']));
    expect(chat.properties).toMatchObject({ response_mode: { enum: ['blocking', 'streaming'] } });
    expect(doc.components.schemas.CreateKeyDto.properties).toMatchObject({ limits: { $ref: '#/components/schemas/KeyLimitsDto' } });
    expect(doc.components.schemas.Error.required).toEqual(['code', 'message', 'status']);
    expect(doc.paths['/admin/keys'].post.security).toEqual([{ gatewayKey: ['admin'] }]);
    expect(doc.paths['/audit/events'].get.security).toEqual([{ gatewayKey: ['audit:read'] }]);
    // Query and path DTOs become parameters, from the same class-validator rules.
    const params = (path: string, method: string) =>
      (doc.paths[path][method] as unknown as { parameters: { name: string; in: string; required: boolean }[] }).parameters;
    expect(params('/admin/keys/{id}', 'get')).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(params('/audit/events', 'get').map((p) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor', 'from', 'to', 'caller']));
    expect(params('/v1/messages', 'get')).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'conversation_id', in: 'query', required: true })]));
    // Only what is referred to: no configuration class among the schemas.
    expect(Object.keys(doc.components.schemas)).not.toContain('EnvironmentVariables');
  });

  it('serves Swagger UI from the gateway itself, under a self-only policy', async () => {
    const page = await call(gw.origin, '/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:|unsafe-inline|unsafe-eval/);
    const srcs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(srcs.every((s) => s.startsWith('/docs/'))).toBe(true);
    for (const src of srcs) expect((await call(gw.origin, src)).status).toBe(200);
    expect((await call(gw.origin, '/docs/..%2Fpackage.json')).status).toBe(404);
    expect((await call(gw.origin, '/docs/index.html')).status).toBe(404);
  });
});
