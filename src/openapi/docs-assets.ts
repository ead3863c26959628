import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The API docs page: Swagger UI from the `swagger-ui-dist` package, served by the gateway itself
 * (no CDN), with its start-up script as a file of its own so that the policy needs no inline
 * script. `img-src data:` is for the icons Swagger UI's stylesheet embeds.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs-json';

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dify-gateway API</title>
<link rel="stylesheet" href="/${DOCS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="/${DOCS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/${DOCS_PATH}/swagger-ui-bundle.js"></script>
<script src="/${DOCS_PATH}/docs-init.js"></script>
</body>
</html>
`;

// No validator badge (it calls validator.swagger.io) and no remote anything: the document is ours.
const INIT_JS = `window.ui = SwaggerUIBundle({
  url: '/${DOCS_JSON_PATH}',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

export interface DocsFile {
  body: Buffer;
  contentType: string;
}

/** The only files served under /docs: names are matched against this list, never used as paths. */
const FROM_PACKAGE: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** The page's files, read from swagger-ui-dist once, at first use, and kept in memory. */
export class DocsAssets {
  private readonly cache = new Map<string, DocsFile>();
  private readonly dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

  index(): DocsFile {
    return { body: Buffer.from(INDEX_HTML), contentType: 'text/html; charset=utf-8' };
  }

  asset(name: string): DocsFile | undefined {
    if (name === 'docs-init.js') return { body: Buffer.from(INIT_JS), contentType: 'text/javascript; charset=utf-8' };
    const contentType = Object.hasOwn(FROM_PACKAGE, name) ? FROM_PACKAGE[name] : undefined;
    if (!contentType) return undefined;
    let file = this.cache.get(name);
    if (!file) {
      file = { body: readFileSync(join(this.dir, name)), contentType };
      this.cache.set(name, file);
    }
    return file;
  }
}
