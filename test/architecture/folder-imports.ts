import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Relative imports (static, dynamic, re-exports, `import type` too: a type cycle is still a design cycle). */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The top-level folder of src/ a file is in (`dify`, `auth`...), or undefined for src/*.ts (the composition root). */
function folderOf(srcRoot: string, file: string): string | undefined {
  const parts = relative(srcRoot, file).split(sep);
  return parts.length > 1 ? parts[0] : undefined;
}

/** Which src/ folders each folder imports (files directly in src/ wire everything and are left out). */
export function folderGraph(srcRoot: string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(srcRoot)) {
    const from = folderOf(srcRoot, file);
    if (!from) continue;
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const to = folderOf(srcRoot, resolve(dirname(file), spec!));
      if (to && to !== from) edges.add(to);
    }
  }
  return graph;
}

/** Which files each source file imports, by path relative to `root` (`.js` specifiers name the `.ts` file). */
export function fileGraph(root: string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(root)) {
    const edges = new Set<string>();
    graph.set(relative(root, file), edges);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = relative(root, resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
      if (!target.startsWith('..')) edges.add(target);
    }
  }
  return graph;
}

/** Every cycle among the folders (or files), as the strongly connected components with more than one folder (Tarjan). */
export function folderCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) !== indices.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!indices.has(node)) visit(node);
  return cycles;
}
