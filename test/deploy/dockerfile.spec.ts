/**
 * The Dockerfile agrees with package.json, the app and the Kubernetes manifests: base images
 * pinned by digest on the `engines` major, production dependencies only in the runtime stage,
 * HEALTHCHECK on the liveness route, data and migrations where the ConfigMap says, non-root.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { HealthController } from '../../src/health/health.controller.js';
import { kustomize } from '../support/kustomize.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
const env = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(runtime)?.[1];

describe('Dockerfile', () => {
  it('builds every stage on one node image of the engines major, pinned by digest', () => {
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1] ?? '';
    expect(image).toMatch(/^node:(\d+)-bookworm-slim@sha256:[0-9a-f]{64}$/);
    expect(image.split(':')[1]!.split('-')[0]).toBe(/(\d+)/.exec(pkg.engines.node)?.[1]);
    expect(dockerfile.match(/^FROM .*$/gm)).toEqual([
      'FROM ${NODE_IMAGE} AS build',
      'FROM ${NODE_IMAGE} AS production-dependencies',
      'FROM ${NODE_IMAGE} AS runtime',
    ]);
  });

  it('ships production dependencies only: dev and devOptional (Prisma CLI, TypeScript) left out', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev --omit=optional --ignore-scripts/);
    expect(runtime).toMatch(/COPY --from=production-dependencies \/app\/node_modules \.\/node_modules/);
    expect(runtime).not.toMatch(/COPY --from=build \/app\/node_modules/);
  });

  it('checks health on the liveness route, runs as node, keeps data and migrations where the manifests expect them', () => {
    const live = `/${String(Reflect.getMetadata(PATH_METADATA, HealthController.prototype.live))}`;
    expect(/^HEALTHCHECK .*\n?.*CMD \[.*/m.exec(runtime)?.[0]).toContain(`'${live}'`);
    expect(runtime).toMatch(/^USER node$/m);
    const configMap = kustomize(join(ROOT, 'deploy/kubernetes/base')).find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    expect(env('PGLITE_DIR')).toBe(configMap.data.PGLITE_DIR);
    expect(env('MIGRATIONS_DIR')).toBe(configMap.data.MIGRATIONS_DIR);
    expect(runtime).toContain(`COPY --from=build /app/prisma/migrations ${configMap.data.MIGRATIONS_DIR!.replace('/app/', './')}`);
    expect(env('PGLITE_DIR')!.startsWith('/app/data/')).toBe(true);
    expect(runtime).toMatch(/^VOLUME \["\/app\/data"\]$/m);
  });
});
