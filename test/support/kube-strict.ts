/**
 * Unknown-field check for rendered Kubernetes objects (what `kubeconform -strict` or
 * `kubectl --validate=strict` would report): the JSON schemas accept any extra field, so a typo
 * such as `periodSecond:` would pass them. Each object becomes a typed object literal in a
 * virtual TypeScript file, typed with the `kubernetes-models` interfaces generated from the same
 * OpenAPI spec; the compiler's excess-property check then names every field the API lacks.
 */
import { resolve } from 'node:path';
import ts from 'typescript';
import type { KubeObject } from './kustomize.js';

const TYPES: Record<string, [module: string, type: string]> = {
  'v1/ConfigMap': ['kubernetes-models/v1', 'IConfigMap'],
  'v1/Service': ['kubernetes-models/v1', 'IService'],
  'v1/ServiceAccount': ['kubernetes-models/v1', 'IServiceAccount'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1', 'IDeployment'],
  'autoscaling/v2/HorizontalPodAutoscaler': ['kubernetes-models/autoscaling/v2', 'IHorizontalPodAutoscaler'],
  'networking.k8s.io/v1/NetworkPolicy': ['kubernetes-models/networking.k8s.io/v1', 'INetworkPolicy'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1', 'IPodDisruptionBudget'],
  'monitoring.coreos.com/v1/ServiceMonitor': ['@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1', 'IServiceMonitor'],
};

/** One line per field the Kubernetes API does not know (or object it has no type for). */
export function unknownFields(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const imports: string[] = [];
  const lines: string[] = [];
  objects.forEach((object, index) => {
    const type = TYPES[`${object.apiVersion}/${object.kind}`];
    if (type === undefined) return problems.push(`no type for ${object.apiVersion} ${object.kind}`);
    const alias = `T${index}`;
    imports.push(`import type { ${type[1]} as ${alias} } from '${type[0]}';`);
    lines.push(`// ${object.kind}/${object.metadata.name}`, `export const o${index}: ${alias} = ${JSON.stringify(object, null, 2)};`);
  });
  const source = [...imports, ...lines].join('\n');
  // Inside the repository, so `kubernetes-models` resolves from its node_modules.
  const file = resolve(import.meta.dirname, '__rendered-kubernetes-objects__.ts');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest);
  const program = ts.createProgram([file], options, host);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const where = diagnostic.file?.fileName === file && diagnostic.start !== undefined ? objectAt(source, diagnostic.start) : '';
    problems.push(`${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
  }
  return problems;
}

/** The `// Kind/name` comment above a position, so a problem names its object. */
function objectAt(source: string, position: number): string {
  const before = source.slice(0, position);
  const marker = before.lastIndexOf('\n// ');
  return marker < 0 ? '' : `${before.slice(marker + 4, before.indexOf('\n', marker + 1))}: `;
}
