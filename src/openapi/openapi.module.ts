import { Module } from '@nestjs/common';
import { ApiDocsService } from './api-docs.service.js';
import { DocsAssets } from './docs-assets.js';
import { DocsController } from './docs.controller.js';

/** /docs and /docs-json (the document is published by bootstrap: see buildOpenApiDocument). */
@Module({
  controllers: [DocsController],
  providers: [ApiDocsService, { provide: DocsAssets, useFactory: () => new DocsAssets() }],
})
export class OpenApiModule {}
