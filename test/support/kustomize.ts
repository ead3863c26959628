/**
 * A small Kustomize renderer for the subset deploy/kubernetes uses, so tests can render every
 * overlay without a kustomize binary (none ships on npm). Supported kustomization fields:
 * `resources` (files and folders), `namespace`, `labels` (without selectors), `images`, and
 * `patches` given as `path:` to a strategic-merge patch (matched by apiVersion group, kind and
 * name; `$patch: delete` and `$patch: replace` honoured). Any other field throws, so a manifest
 * cannot silently rely on something this renderer ignores.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  namespace?: string;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  patches?: { path: string }[];
}

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches']);

/** The list fields Kubernetes merges by a key (`patchMergeKey`) instead of replacing them. */
const MERGE_KEYS: Record<string, (item: JsonObject) => string> = {
  containers: () => 'name',
  initContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  volumeMounts: () => 'mountPath',
  // Container ports merge on containerPort, Service ports on port.
  ports: (item) => ('containerPort' in item ? 'containerPort' : 'port'),
};

export function parseYamlFile(file: string): JsonObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as Json;
    return value === null ? [] : [value as JsonObject];
  });
}

/** Renders the kustomization in `dir` (a folder holding kustomization.yaml) to its objects. */
export function kustomize(dir: string): KubeObject[] {
  const file = join(dir, 'kustomization.yaml');
  const [kustomization] = parseYamlFile(file) as unknown as Kustomization[];
  if (kustomization === undefined) throw new Error(`${file} is empty`);
  const unsupported = Object.keys(kustomization).filter((key) => !SUPPORTED_FIELDS.has(key));
  if (unsupported.length > 0) throw new Error(`${file}: unsupported field(s) ${unsupported.join(', ')}`);

  let objects: KubeObject[] = [];
  for (const entry of kustomization.resources ?? []) {
    const path = resolve(dir, entry);
    objects.push(...(statSync(path).isDirectory() ? kustomize(path) : (parseYamlFile(path) as unknown as KubeObject[])));
  }
  for (const { path } of kustomization.patches ?? []) {
    for (const patch of parseYamlFile(resolve(dir, path))) objects = applyPatch(objects, patch, join(dirname(file), path));
  }
  for (const label of kustomization.labels ?? []) {
    if (label.includeSelectors) throw new Error(`${file}: labels.includeSelectors is not supported`);
    for (const object of objects) {
      object.metadata.labels = { ...object.metadata.labels, ...label.pairs };
      const template = (object.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template;
      if (label.includeTemplates && template) template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...label.pairs } };
    }
  }
  for (const image of kustomization.images ?? []) for (const object of objects) setImage(object, image);
  if (kustomization.namespace !== undefined) for (const object of objects) object.metadata.namespace = kustomization.namespace;
  assertUnique(objects);
  return objects;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

function sameTarget(object: KubeObject, patch: JsonObject): boolean {
  const meta = patch.metadata as JsonObject | undefined;
  return object.kind === patch.kind && groupOf(object.apiVersion) === groupOf(String(patch.apiVersion)) && object.metadata.name === meta?.name;
}

function applyPatch(objects: KubeObject[], patch: JsonObject, source: string): KubeObject[] {
  const matches = objects.filter((object) => sameTarget(object, patch));
  if (matches.length !== 1) throw new Error(`${source}: patch matches ${matches.length} objects, expected 1`);
  if (patch.$patch === 'delete') return objects.filter((object) => object !== matches[0]);
  return objects.map((object) => (object === matches[0] ? (strategicMerge(object as unknown as Json, patch) as unknown as KubeObject) : object));
}

/** Strategic merge of `patch` into `base` (returns a new value; neither input is changed). */
export function strategicMerge(base: Json, patch: Json, field = ''): Json {
  if (Array.isArray(patch)) return Array.isArray(base) ? mergeList(base, patch, field) : structuredClone(patch);
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  const result: JsonObject = isObject(base) ? structuredClone(base) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') throw new Error(`unsupported $patch: ${String(value)}`);
    if (value === null) delete result[key];
    else result[key] = key in result ? strategicMerge(result[key]!, value, key) : structuredClone(value);
  }
  return result;
}

function mergeList(base: Json[], patch: Json[], field: string): Json[] {
  const keyOf = MERGE_KEYS[field];
  if (keyOf === undefined || !patch.every(isObject) || !base.every(isObject)) return structuredClone(patch);
  const result = structuredClone(base) as JsonObject[];
  const added: JsonObject[] = [];
  for (const item of patch as JsonObject[]) {
    const key = keyOf(item);
    const index = result.findIndex((existing) => existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMerge(result[index]!, item) as JsonObject;
    } else {
      added.push(structuredClone(item));
    }
  }
  // Like kustomize: items the base lacks come first, in the patch's order.
  return [...added, ...result];
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setImage(object: KubeObject, image: NonNullable<Kustomization['images']>[number]): void {
  const podSpec = (object.spec as { template?: { spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] } } } | undefined)?.template
    ?.spec;
  for (const container of [...(podSpec?.containers ?? []), ...(podSpec?.initContainers ?? [])]) {
    const current = container.image ?? '';
    const withoutDigest = current.split('@')[0]!;
    const name = withoutDigest.replace(/:[^/:]+$/, '');
    if (name !== image.name) continue;
    const tag = image.newTag ?? (withoutDigest === name ? undefined : withoutDigest.slice(name.length + 1));
    const reference = image.newName ?? name;
    container.image = image.digest ? `${reference}@${image.digest}` : tag ? `${reference}:${tag}` : reference;
  }
}

function assertUnique(objects: KubeObject[]): void {
  const seen = new Set<string>();
  for (const object of objects) {
    const id = `${groupOf(object.apiVersion)}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    if (seen.has(id)) throw new Error(`duplicate object ${id}`);
    seen.add(id);
  }
}
