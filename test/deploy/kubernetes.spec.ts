/**
 * deploy/kubernetes and deploy/helm: every overlay renders (test/support/kustomize.ts), so does
 * the Helm chart with each examples/ values file (when helm is installed; always under CI),
 * every object passes the
 * Kubernetes JSON schemas (and the ServiceMonitor its CRD schema), and the manifests agree with
 * the app: probe paths are the health controller's routes, the probe port is the one the
 * ConfigMap makes the app listen on, the ConfigMap plus the Deployment's secret files pass the
 * app's own config loader, the grace period outlasts the drain, nothing writes outside a volume.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { HealthController } from '../../src/health/health.controller.js';
import { MetricsController } from '../../src/metrics/metrics.controller.js';
import { ENV_VARIABLES } from '../../src/config/env.schema.js';
import { loadGatewayConfig, SECRET_FILE_VARIABLES } from '../../src/config/gateway-config.js';
import { kustomize, type KubeObject } from '../support/kustomize.js';
import { schemaProblems } from '../support/kube-schemas.js';
import { unknownFields } from '../support/kube-strict.js';
import { helmChecksRun, helmTemplate } from '../support/helm.js';

const ROOT = resolve(import.meta.dirname, '../..');
const KUBE = join(ROOT, 'deploy/kubernetes');
const SECRET_DIR = '/run/secrets/dify-gateway';

type Container = {
  name: string;
  ports: { name: string; containerPort: number }[];
  env: { name: string; value: string }[];
  envFrom: { configMapRef: { name: string } }[];
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
  lifecycle: { preStop: { sleep: { seconds: number } } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; capabilities: { drop: string[] } };
  volumeMounts: { name: string; mountPath: string }[];
};
type Probe = { httpGet: { path: string; port: string | number } };
type PodSpec = {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  containers: Container[];
  volumes: { name: string; emptyDir?: object; secret?: { secretName: string } }[];
};
type Deployment = KubeObject & {
  spec: { replicas: number; strategy: { type: string }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
};

const find = <T extends KubeObject>(objects: KubeObject[], kind: string, name?: string) =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name)) as T | undefined;

function route(controller: object, handler: string): string {
  const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '/');
  const path = String(Reflect.getMetadata(PATH_METADATA, (controller as { prototype: Record<string, object> }).prototype[handler]!));
  return `/${[base, path]
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/')}`;
}

const OVERLAYS = ['embedded-demo', 'postgres-redis'] as const;
const rendered: Record<string, KubeObject[]> = {
  base: kustomize(join(KUBE, 'base')),
  ...Object.fromEntries(OVERLAYS.map((name) => [name, kustomize(join(KUBE, 'overlays', name))])),
  ...(helmChecksRun ? { 'helm default': helmTemplate(), ...Object.fromEntries(OVERLAYS.map((name) => [`helm ${name}`, helmTemplate(name)])) } : {}),
};
const variants = (overlay: string) => [overlay, ...(helmChecksRun ? [`helm ${overlay}`] : [])];

const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe.each(Object.keys(rendered))('%s', (name) => {
  const objects = rendered[name]!;
  const deployment = find<Deployment>(objects, 'Deployment', 'dify-gateway')!;
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === 'gateway')!;
  const configMap = find<KubeObject & { data: Record<string, string> }>(objects, 'ConfigMap', 'dify-gateway-config')!;

  it('renders objects that pass the Kubernetes schemas (ServiceMonitor: its CRD schema), with no unknown field', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      expect.arrayContaining(['ConfigMap', 'Deployment', 'NetworkPolicy', 'Service', 'ServiceAccount', 'ServiceMonitor']),
    );
    expect(objects.map((o) => ({ id: `${o.kind}/${o.metadata.name}`, problems: schemaProblems(o) }))).toEqual(
      objects.map((o) => ({ id: `${o.kind}/${o.metadata.name}`, problems: [] })),
    );
    expect(unknownFields(objects)).toEqual([]);
  });

  it('probes the health controller routes on the port the app listens on', () => {
    expect(container.startupProbe.httpGet.path).toBe(route(HealthController, 'live'));
    expect(container.livenessProbe.httpGet.path).toBe(route(HealthController, 'live'));
    expect(container.readinessProbe.httpGet.path).toBe(route(HealthController, 'ready'));
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      const port = container.ports.find((p) => p.name === probe.httpGet.port || p.containerPort === probe.httpGet.port);
      expect(port?.containerPort).toBe(Number(configMap.data.PORT));
    }
  });

  it('sets only variables the app reads, secrets only as files from the mounted Secret', () => {
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
    const known = new Set<string>(ENV_VARIABLES);
    expect(Object.keys(configMap.data).filter((key) => !known.has(key))).toEqual([]);
    // Secrets (and the files that hold them) never in the ConfigMap.
    const secrets = new Set<string>(SECRET_FILE_VARIABLES);
    expect(Object.keys(configMap.data).filter((key) => secrets.has(key) || key.endsWith('_FILE'))).toEqual([]);
    const secretMount = container.volumeMounts.find((m) => m.mountPath === SECRET_DIR)!;
    expect(pod.volumes.find((v) => v.name === secretMount.name)?.secret?.secretName).toBe('dify-gateway-secrets');
    for (const variable of container.env) {
      expect(known.has(variable.name) && variable.name.endsWith('_FILE')).toBe(true);
      expect(variable.value.startsWith(`${SECRET_DIR}/`)).toBe(true);
    }
  });

  it("passes the app's config loader with the Secret's files in place", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-secrets-'));
    scratch.push(dir);
    const files: Record<string, string> = {
      'dify-api-key': `app-${randomBytes(12).toString('hex')}`,
      'audit-signing-keys': randomBytes(32).toString('hex'),
      'database-url': 'postgresql://gateway@postgresql:5432/dify_gateway',
      'redis-url': 'redis://redis:6379/0',
    };
    for (const [key, value] of Object.entries(files)) writeFileSync(join(dir, key), value);
    const env: Record<string, string> = {
      ...configMap.data,
      MIGRATIONS_DIR: join(ROOT, 'prisma/migrations'), // /app/prisma/migrations in the image
      ...Object.fromEntries(container.env.map((v) => [v.name, v.value.replace(SECRET_DIR, dir)])),
    };
    const config = loadGatewayConfig(env);
    expect(config.app.port).toBe(container.ports[0]!.containerPort);
    const preStop = container.lifecycle.preStop.sleep.seconds;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + config.app.shutdownDrainMs / 1000);
  });

  it('runs as non-root on a read-only root filesystem, writing only to volumes', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const writable = container.volumeMounts.filter((m) => pod.volumes.find((v) => v.name === m.name)?.emptyDir).map((m) => m.mountPath);
    expect(writable).toEqual(expect.arrayContaining(['/tmp']));
    expect(writable.some((path) => configMap.data.PGLITE_DIR!.startsWith(`${path}/`))).toBe(true);
  });

  it('points Service, PodDisruptionBudget, NetworkPolicy, ServiceMonitor and autoscaler at the pods', () => {
    const labels = deployment.spec.template.metadata.labels;
    const matches = (selector: Record<string, string> | undefined) => selector !== undefined && Object.entries(selector).every(([k, v]) => labels[k] === v);
    const spec = <T>(kind: string) => (find(objects, kind)?.spec ?? {}) as T;
    expect(matches(spec<{ selector: Record<string, string> }>('Service').selector)).toBe(true);
    expect(matches(spec<{ podSelector: { matchLabels: Record<string, string> } }>('NetworkPolicy').podSelector.matchLabels)).toBe(true);
    const monitor = spec<{ selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] }>('ServiceMonitor');
    const service = find<KubeObject & { metadata: { labels: Record<string, string> }; spec: { ports: { name: string }[] } }>(objects, 'Service')!;
    expect(Object.entries(monitor.selector.matchLabels).every(([k, v]) => service.metadata.labels[k] === v)).toBe(true);
    expect(service.spec.ports.map((p) => p.name)).toContain(monitor.endpoints[0]!.port);
    expect(monitor.endpoints[0]!.path).toBe(route(MetricsController, 'scrape'));
    const pdb = find(objects, 'PodDisruptionBudget');
    if (pdb) expect(matches((pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels)).toBe(true);
    const hpa = find(objects, 'HorizontalPodAutoscaler');
    if (hpa) expect((hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name).toBe(deployment.metadata.name);
  });
});

describe('the overlays', () => {
  const deployment = (name: string) => find<Deployment>(rendered[name]!, 'Deployment')!;
  const envNames = (name: string) => deployment(name).spec.template.spec.containers[0]!.env.map((v) => v.name);

  it.each(variants('embedded-demo'))('%s: one replica on PGlite, no autoscaler, replaced rather than rolled', (name) => {
    expect(deployment(name).spec.replicas).toBe(1);
    expect(deployment(name).spec.strategy).toEqual({ type: 'Recreate' });
    expect(find(rendered[name]!, 'HorizontalPodAutoscaler')).toBeUndefined();
    expect(envNames(name)).not.toContain('DATABASE_URL_FILE');
  });

  it.each(variants('postgres-redis'))('%s: three replicas on a shared database and Redis, reachable through the network policies', (name) => {
    const objects = rendered[name]!;
    expect(deployment(name).spec.replicas).toBe(3);
    expect(find<KubeObject & { spec: { minReplicas: number } }>(objects, 'HorizontalPodAutoscaler')!.spec.minReplicas).toBe(3);
    expect(envNames(name)).toEqual(expect.arrayContaining(['DIFY_API_KEY_FILE', 'DATABASE_URL_FILE', 'REDIS_URL_FILE']));
    const egressPorts = objects
      .filter((o) => o.kind === 'NetworkPolicy')
      .flatMap((o) => (o.spec as { egress: { ports: { port: number }[] }[] }).egress.flatMap((rule) => rule.ports.map((p) => p.port)));
    expect(egressPorts).toEqual(expect.arrayContaining([53, 443, 5432, 6379]));
  });

  it('every *_FILE variable the app reads is set by an overlay or documented in deploy/README.md', () => {
    const readme = readFileSync(join(ROOT, 'deploy/README.md'), 'utf8');
    const used = new Set(OVERLAYS.flatMap((name) => envNames(name)));
    const missing = ENV_VARIABLES.filter((name) => name.endsWith('_FILE') && !used.has(name) && !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
