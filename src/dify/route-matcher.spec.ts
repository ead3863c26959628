import { describe, expect, it } from '@jest/globals';
import { DIFY_ROUTES } from './dify.routes.js';
import { matchRoute } from './route-matcher.js';

const UUID = '0b0e9d7c-1f2a-4c3b-9d8e-7f6a5b4c3d2e';

describe('matchRoute', () => {
  it('matches every row of the table with sample ids and rebuilds the same path', () => {
    for (const route of DIFY_ROUTES) {
      const path = route.path
        .replace(/:action/g, 'enable')
        .replace(/:document_action/g, 'un_archive')
        .replace(/:[a-z_]+/g, '0b0e9d7c-1f2a-4c3b-9d8e-7f6a5b4c3d2e');
      const match = matchRoute(route.method, path === '/' ? '' : path);
      expect(match).toMatchObject({ kind: 'matched', route: { name: route.name } });
      if (match.kind === 'matched') expect(match.upstreamPath).toBe(path);
    }
  });

  it('prefers literal segments over parameters', () => {
    expect(matchRoute('GET', '/workflows/logs')).toMatchObject({ route: { name: 'workflow.logs' } });
    expect(matchRoute('POST', '/workflows/run')).toMatchObject({ route: { name: 'workflow.run' } });
    expect(matchRoute('POST', '/workflows/abc/run')).toMatchObject({ route: { name: 'workflow.run_version' } });
  });

  it.each([
    '/../admin',
    '/files/..%2F..%2Fetc/preview',
    '/files/%2e%2e/preview',
    '/files/../preview',
    '/files/./preview',
    '/conversations/a%2Fb/name',
    '//chat-messages',
    '/chat-messages/',
    '/chat-messages\\x',
    '/files/.hidden/preview',
    '/apps/annotation-reply/destroy',
    '/datasets/0b0e9d7c-1f2a-4c3b-9d8e-7f6a5b4c3d2e/documents/status/destroy',
    'chat-messages',
  ])('refuses %s', (path) => {
    expect(matchRoute('GET', path).kind).toBe('not_found');
    expect(matchRoute('POST', path).kind).not.toBe('matched');
  });

  it('tells dataset rows apart from each other', () => {
    const ds = '/datasets/0b0e9d7c-1f2a-4c3b-9d8e-7f6a5b4c3d2e';
    expect(matchRoute('GET', '/datasets')).toMatchObject({ route: { name: 'datasets.list', target: 'dataset', scope: 'datasets' } });
    expect(matchRoute('POST', `${ds}/documents/download-zip`)).toMatchObject({ route: { name: 'documents.download_zip' } });
    expect(matchRoute('GET', `${ds}/metadata/built-in`)).toMatchObject({ route: { name: 'metadata.built_in' } });
    expect(matchRoute('PATCH', `${ds}/documents/status/archive`)).toMatchObject({ route: { name: 'documents.set_status', scope: 'datasets:write' } });
    expect(matchRoute('POST', `${ds}/documents/${UUID}/segments/${UUID}`)).toMatchObject({ route: { name: 'segments.update' } });
    expect(matchRoute('POST', `${ds}/document/create_by_text`)).toMatchObject({ route: { name: 'documents.create_by_text_legacy', body: 'json' } });
    expect(matchRoute('PATCH', `${ds}/documents/${UUID}`)).toMatchObject({ route: { name: 'documents.update', body: 'multipart' } });
  });

  it('reads /datasets/tags as the workspace tag list, never as a knowledge base id', () => {
    expect(matchRoute('GET', '/datasets/tags')).toMatchObject({ route: { name: 'tags.list', scope: 'datasets:workspace' } });
    expect(matchRoute('POST', '/datasets')).toMatchObject({ route: { name: 'datasets.create', scope: 'datasets:workspace' } });
    expect(matchRoute('GET', '/workspaces/current/models/model-types/text-embedding')).toMatchObject({
      route: { name: 'models.by_type', scope: 'datasets:workspace' },
    });
  });

  it.each([
    ['DELETE', '/conversations/abc'],
    ['GET', '/messages/1234/suggested'],
    ['GET', '/end-users/not-a-uuid'],
    ['GET', '/files/abc/preview'],
    ['PUT', '/apps/annotations/abc'],
    ['GET', '/apps/annotation-reply/enable/status/job-1'],
    ['GET', '/datasets/handbook'],
    ['GET', `/datasets/${UUID}/documents/abc/segments`],
    ['PATCH', `/datasets/${UUID}/metadata/abc`],
  ])('a non-uuid where Dify declares <uuid:…> is not found: %s %s', (method, path) => {
    expect(matchRoute(method, path)).toEqual({ kind: 'not_found' });
  });

  it('takes a path uuid in any case but only with its dashes, as werkzeug does', () => {
    expect(matchRoute('DELETE', `/conversations/${UUID.toUpperCase()}`)).toMatchObject({ kind: 'matched' });
    expect(matchRoute('DELETE', `/conversations/${UUID.replace(/-/g, '')}`)).toEqual({ kind: 'not_found' });
  });

  it('answers method_not_allowed with the allowed methods for a known path', () => {
    expect(matchRoute('PUT', '/chat-messages')).toEqual({ kind: 'method_not_allowed', allowed: ['POST'] });
    const annotation = matchRoute('GET', `/apps/annotations/${UUID}`);
    expect(annotation.kind).toBe('method_not_allowed');
    if (annotation.kind === 'method_not_allowed') expect(annotation.allowed.sort()).toEqual(['DELETE', 'PUT']);
  });
});
