import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileGraph, folderCycles, folderGraph } from './folder-imports.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'folder-imports-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('imports between the folders of src/', () => {
  it('form no cycle: a folder below never imports one above', () => {
    const cycles = folderCycles(folderGraph(join(process.cwd(), 'src')));
    expect(cycles.map((c) => c.join(' <-> '))).toEqual([]);
  });

  it('finds a cycle through type imports, dynamic imports and three folders', () => {
    const root = tree({
      'a/a.ts': "import type { B } from '../b/b.js';",
      'b/b.ts': "export const load = () => import('../c/deep/c.js');",
      'c/deep/c.ts': "export { A } from '../../a/a.js';",
      'd/d.ts': "import { A } from '../a/a.js';",
      'main.ts': "import { D } from './d/d.js';",
    });
    expect(folderCycles(folderGraph(root))).toEqual([['a', 'b', 'c']]);
  });

  it('finds none where imports go one way, whatever a spec file imports', () => {
    const root = tree({
      'a/a.ts': "import { B } from '../b/b.js';",
      'b/b.ts': 'export const B = 1;',
      'b/b.spec.ts': "import { A } from '../a/a.js';",
    });
    expect(folderGraph(root).get('a')).toEqual(new Set(['b']));
    expect(folderCycles(folderGraph(root))).toEqual([]);
  });
});

describe('imports between files', () => {
  it.each(['src', 'simulator', 'bench', 'scripts', 'test'])('form no cycle in %s/', (root) => {
    const cycles = folderCycles(fileGraph(join(process.cwd(), root)));
    expect(cycles.map((c) => c.join(' <-> '))).toEqual([]);
  });

  it('finds a cycle through a type import and a re-export, and names the files', () => {
    const root = tree({
      'a.ts': "import type { B } from './x/b.js';",
      'x/b.ts': "export { C } from '../c.js';",
      'c.ts': "import { A } from './a.js';",
      'd.ts': "import { A } from './a.js';",
    });
    expect(folderCycles(fileGraph(root))).toEqual([['a.ts', 'c.ts', 'x/b.ts']]);
  });
});
