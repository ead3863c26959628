import type { INestApplication } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../config/env.schema.js';
import { ApiDocsService } from './api-docs.service.js';
import { buildOpenApiDocument } from './openapi-document.js';

/** Hands the application to the docs service, which builds the document when it is first read. */
export function publishApiDocs(app: INestApplication): void {
  const { version } = JSON.parse(readFileSync(join(findPackageRoot(), 'package.json'), 'utf8')) as { version: string };
  app.get(ApiDocsService).publish(() => buildOpenApiDocument(app, version));
}
