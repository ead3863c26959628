/**
 * `tsx bench/summarize-cpuprofile.ts FILE.cpuprofile [TOP]`: the top functions of a V8 CPU
 * profile (`node --cpu-prof`) by self time and by inclusive time (each sample counted once per
 * function on its stack), and self time by package. Figures only.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'nm:')
    .replace(/^.*\/(dist|src)\//, '$1/');
  return `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
}

/** 'nm:<package>', 'dist' (our code), 'node:internal', or the special frames ((idle), (gc), (program)). */
export function packageOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `nm:${nm[1]}`;
  if (url.startsWith('node:')) return 'node:internal';
  if (/\/(dist|src)\//.test(url)) return 'gateway code';
  return url;
}

/** Finer than `packageOf`: our code by folder (`gateway: audit/write`), Node's by module (`node:_http_server`). */
export function areaOf(node: ProfileNode): string {
  const { url } = node.callFrame;
  const ours = /\/(?:dist|src)\/(.+)\/[^/]+\.js$/.exec(url);
  if (ours && !url.includes('node_modules')) return `gateway: ${ours[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:');
  return packageOf(node);
}

export function summarize(profile: Profile, top = 15): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id)!;
    const name = frameName(node);
    total += dt;
    if (node.callFrame.functionName === '(idle)') idle += dt;
    self.set(name, (self.get(name) ?? 0) + dt);
    packages.set(packageOf(node), (packages.get(packageOf(node)) ?? 0) + dt);
    areas.set(areaOf(node), (areas.get(areaOf(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = frameName(byId.get(cur)!);
      if (seen.has(frame)) continue;
      seen.add(frame);
      inclusive.set(frame, (inclusive.get(frame) ?? 0) + dt);
    }
  });
  const busy = total - idle;
  const table = (title: string, values: Map<string, number>, skip: (k: string) => boolean = () => false) => {
    const rows = [...values]
      .filter(([k]) => !skip(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);
    return [title, ...rows.map(([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / busy).toFixed(1).padStart(5)} %  ${k}`)].join('\n');
  };
  const structural = (k: string) => /^\((root|program|idle)\)/.test(k);
  return [
    `profile: ${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (percentages are of busy time)`,
    table(`top ${top} by self time`, self, (k) => k.startsWith('(idle)')),
    table(`top ${top} by inclusive time`, inclusive, structural),
    table('self time by package', packages, (k) => k === '(idle)'),
    table(`top ${top} areas by self time (our folders, Node's modules, packages)`, areas, (k) => k === '(idle)'),
  ].join('\n\n');
}

if (process.argv[1]?.endsWith('summarize-cpuprofile.ts')) {
  const [file, top] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/summarize-cpuprofile.ts FILE.cpuprofile [TOP]');
  console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(top ?? 15)));
}
