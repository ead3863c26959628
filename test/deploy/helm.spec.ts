/**
 * deploy/helm/dify-gateway: `helm lint --strict` passes with the defaults and each examples/
 * values file, and the chart refuses a grace period the drain would outlast. The rendered
 * objects go through the same checks as the Kustomize overlays in kubernetes.spec.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { CHART, helm, helmChecksRun } from '../support/helm.js';

const describeHelm = helmChecksRun ? describe : describe.skip; // skipped only outside CI without helm

describeHelm('Helm chart', () => {
  it.each([[undefined], ['embedded-demo'], ['postgres-redis']])('lints strictly with values %s', (example) => {
    const values = example === undefined ? [] : ['-f', join(CHART, 'examples', `${example}.yaml`)];
    expect(helm(['lint', '--strict', CHART, ...values])).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('refuses a terminationGracePeriodSeconds that preStop plus SHUTDOWN_DRAIN_MS would outlast', () => {
    expect(() => helm(['template', 'dify-gateway', CHART, '--set-string', 'config.SHUTDOWN_DRAIN_MS=30000'])).toThrow(
      /terminationGracePeriodSeconds must exceed preStopSeconds \+ SHUTDOWN_DRAIN_MS/,
    );
    expect(helm(['template', 'dify-gateway', CHART, '--set-string', 'config.SHUTDOWN_DRAIN_MS=24000'])).toContain('kind: Deployment');
  });
});
