import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const CONSOLE_BUILD_DIR = path.resolve('dist', 'console-ui');

/** Builds the console from console/ (as `npm run build` does), so a spec tests the sources it sits beside. */
export function buildConsole(): void {
  execFileSync(process.execPath, [path.resolve('node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'console/vite.config.ts', '--logLevel', 'error'], { stdio: 'pipe' });
  if (!existsSync(path.join(CONSOLE_BUILD_DIR, 'index.html'))) throw new Error('vite build wrote no dist/console-ui/index.html');
}
