import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { GatewayErrors } from '../common/errors/gateway-errors.js';
import { ApiDocsService } from './api-docs.service.js';
import { DOCS_CSP, DOCS_JSON_PATH, DOCS_PATH, DocsAssets, type DocsFile } from './docs-assets.js';

/**
 * API docs: the OpenAPI document at /docs-json and Swagger UI at /docs. Public, like the
 * console page: they describe the gateway's surface and hold no data; every call made from the
 * page needs a key as any other.
 */
@ApiTags('docs')
@Controller()
export class DocsController {
  constructor(
    private readonly docs: ApiDocsService,
    private readonly assets: DocsAssets,
  ) {}

  @Get(DOCS_JSON_PATH)
  @ApiOkResponse({ description: 'This OpenAPI document.' })
  document(@Res() res: Response): void {
    const doc = this.docs.document();
    if (!doc) throw GatewayErrors.notFound('The API document is not published.');
    res.setHeader('cache-control', 'no-store');
    res.json(doc);
  }

  @Get(DOCS_PATH)
  @ApiOkResponse({ description: 'Swagger UI (HTML), served with its assets from this gateway.' })
  page(@Res() res: Response): void {
    send(res, this.assets.index());
  }

  @Get(`${DOCS_PATH}/:name`)
  @ApiOkResponse({ description: "One of the page's files (a fixed list; anything else is a 404)." })
  asset(@Param('name') name: string, @Res() res: Response): void {
    const file = this.assets.asset(name);
    if (!file) throw GatewayErrors.notFound();
    send(res, file);
  }
}

function send(res: Response, file: DocsFile): void {
  res.status(200);
  res.setHeader('content-type', file.contentType);
  res.setHeader('content-length', file.body.length);
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('content-security-policy', DOCS_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.end(file.body);
}
