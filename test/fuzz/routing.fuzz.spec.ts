/**
 * Fuzz: the route matcher. No path, however it is spelled, throws or builds an upstream path
 * outside the table: the upstream path is a row's template with id-shaped parameters.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DIFY_ROUTES, UUID_PARAMS } from '../../src/dify/dify.routes.js';
import { matchRoute } from '../../src/dify/route-matcher.js';
import { runs, trickyText } from './fuzz-support.js';

const PARAM_VALUE = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$/;
const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'get', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', '');
const segment = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '',
    '%2e%2e',
    '%2F',
    '\\',
    'chat-messages',
    'datasets',
    'workflows',
    'run',
    'stop',
    'enable',
    'files',
    'upload',
    'v1',
    'admin',
    'audit',
    '~',
    '-x',
  ),
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/),
  trickyText(12),
);
const path = fc.oneof(
  fc.array(segment, { maxLength: 8 }).map((s) => `/${s.join('/')}`),
  trickyText(60),
  // a row's own path with its parameters filled by anything
  fc.tuple(fc.constantFrom(...DIFY_ROUTES), fc.array(segment, { minLength: 3, maxLength: 3 })).map(([r, fill]) => {
    let i = 0;
    return r.path.replace(/:[a-z_]+/g, () => fill[i++ % 3]);
  }),
);

describe('fuzz: route matcher', () => {
  it('never throws, and a match is a row of the table with a rebuilt, id-shaped upstream path', () => {
    fc.assert(
      fc.property(method, path, (m, p) => {
        const match = matchRoute(m, p);
        if (match.kind !== 'matched') return;
        expect(DIFY_ROUTES).toContain(match.route);
        expect(match.route.method).toBe(m.toUpperCase());
        for (const value of Object.values(match.params)) expect(value).toMatch(PARAM_VALUE);
        expect(match.upstreamPath).toBe(match.route.path.replace(/:([a-z_]+)/g, (_, name: string) => match.params[name]));
        expect(match.upstreamPath).not.toMatch(/%|\\|\/\.\.?(\/|$)|\/\//);
      }),
      runs(2000),
    );
  });

  const fill = (path: string, id: string, uuid: string) =>
    path.replace(/:([a-z_]+)/g, (_, name: string) =>
      name === 'action' ? 'enable' : name === 'document_action' ? 'archive' : UUID_PARAMS.has(name) ? uuid : id,
    );

  it('every row matches its own path with id-shaped parameters (uuids where Dify declares them)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...DIFY_ROUTES), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,36}$/), fc.uuid(), (route, id, uuid) => {
        const concrete = fill(route.path, id, uuid);
        const match = matchRoute(route.method, concrete);
        expect(match.kind).toBe('matched');
        if (match.kind === 'matched') expect(match.upstreamPath).toBe(concrete);
      }),
      runs(1000),
    );
  });

  it('a uuid-typed parameter holding anything but a dashed uuid matches no row (Dify routing 404)', () => {
    const withUuid = DIFY_ROUTES.filter((r) => (r.path.match(/:([a-z_]+)/g) ?? []).some((p) => UUID_PARAMS.has(p.slice(1))));
    fc.assert(
      fc.property(fc.constantFrom(...withUuid), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,36}$/), fc.uuid(), (route, id, uuid) => {
        fc.pre(!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
        const match = matchRoute(route.method, fill(route.path, 'x', uuid).replace(uuid, id));
        if (match.kind === 'matched') expect(match.route.name).not.toBe(route.name);
      }),
      runs(1000),
    );
  });
});
