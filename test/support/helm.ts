/**
 * helm (from scripts/install-kube-tools.sh, in .ci/.kube-tools) for the chart's tests. Without
 * the binary the Helm checks are skipped locally and fail under CI, which installs it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './kustomize.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const HELM = join(ROOT, '.ci/.kube-tools/bin/helm');
export const CHART = join(ROOT, 'deploy/helm/dify-gateway');

/** Whether the Helm checks run: always under CI (a missing binary then fails them), else when installed. */
export const helmChecksRun = existsSync(HELM) || process.env.CI === 'true';

export function helm(args: string[]): string {
  return execFileSync(HELM, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `helm template` of the chart as release `dify-gateway`, with an optional examples/ values file. */
export function helmTemplate(example?: string): KubeObject[] {
  const values = example === undefined ? [] : ['-f', join(CHART, 'examples', `${example}.yaml`)];
  return parseAllDocuments(helm(['template', 'dify-gateway', CHART, ...values]))
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}
