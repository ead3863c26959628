import { existsSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt } from './build.js';

export const CONSOLE_BUILD_DIR = path.resolve('dist', 'console-ui');

/**
 * Builds the console from console/ (with the rest of `npm run build`, once per jest run), so a spec
 * tests the sources it sits beside.
 */
export async function buildConsole(): Promise<void> {
  await ensureBuilt();
  if (!existsSync(path.join(CONSOLE_BUILD_DIR, 'index.html'))) throw new Error('vite build wrote no dist/console-ui/index.html');
}
