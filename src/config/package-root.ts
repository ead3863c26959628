import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let packageRoot: string | undefined;

/**
 * The folder that holds this package's `package.json`, found by walking up from this file, so it
 * is the same from `src/config` (jest, tsx) and `dist/config` (production). A `package.json`
 * without a `name` (such as a `{"type":"module"}` marker inside `dist/`) is skipped.
 */
export function findPackageRoot(start = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown };
        if (typeof pkg.name === 'string' && pkg.name !== '') return dir;
      } catch {
        // not a usable package.json: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** `<package root>/prisma/migrations`, absolute. */
export function defaultMigrationsDir(): string {
  packageRoot ??= findPackageRoot();
  return join(packageRoot, 'prisma', 'migrations');
}
