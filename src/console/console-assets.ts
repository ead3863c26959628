import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { findPackageRoot } from '../config/env.schema.js';

/** Where `npm run build` puts the console's built files (Vite, from console/ at the top level). */
export function consoleDir(): string {
  return join(findPackageRoot(), 'dist', 'console-ui');
}

/**
 * The strict policy for the console: its own script and style only (no inline script or style,
 * no eval), calls to this origin only, never framed, forms and base URL pinned.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Hashed asset names as Vite writes them (`index-AbC123_-.js`): nothing else is served, so no path can escape the folder. */
const ASSET_NAME = /^[A-Za-z0-9_-]{1,80}\.(js|css|svg|png|ico)$/;

export interface ConsoleFile {
  body: Buffer;
  /** The same bytes gzipped once at first use: the page is small, and it stays small on the wire. */
  gzipped: Buffer;
  contentType: string;
}

/** The built files, read once: a handful of small files, served from memory. */
export class ConsoleAssets {
  private readonly cache = new Map<string, ConsoleFile | null>();

  constructor(private readonly dir = consoleDir()) {}

  index(): ConsoleFile | null {
    return this.load('index.html', 'text/html; charset=utf-8');
  }

  asset(name: string): ConsoleFile | null {
    const match = ASSET_NAME.exec(name);
    if (!match) return null;
    return this.load(join('assets', name), TYPES[`.${match[1]}`]);
  }

  private load(relative: string, contentType: string): ConsoleFile | null {
    if (!this.cache.has(relative)) {
      const file = join(this.dir, relative);
      const body = existsSync(file) ? readFileSync(file) : null;
      this.cache.set(relative, body ? { body, gzipped: gzipSync(body, { level: 9 }), contentType } : null);
    }
    return this.cache.get(relative) ?? null;
  }
}
