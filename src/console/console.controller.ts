import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CONSOLE_CSP, ConsoleAssets, type ConsoleFile } from './console-assets.js';
import { GatewayErrors } from '../common/errors/gateway-errors.js';

/**
 * The compliance console: a static page that signs in with an `audit:read` key and reads the
 * audit API from the browser. The page itself holds no data, so it needs no key; every read it
 * makes goes through `/audit/*` with the key, and is audited there.
 */
@Controller('console')
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  index(@Req() req: Request, @Res() res: Response): void {
    const page = this.assets.index();
    if (!page) throw GatewayErrors.notFound('The console is not built: run `npm run build`.');
    send(req, res, page, 'no-store');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Req() req: Request, @Res() res: Response): void {
    const file = this.assets.asset(name);
    if (!file) throw GatewayErrors.notFound();
    // Names carry a content hash: a file never changes under its name.
    send(req, res, file, 'public, max-age=31536000, immutable');
  }
}

function send(req: Request, res: Response, file: ConsoleFile, cacheControl: string): void {
  const gzip = Boolean(req.acceptsEncodings('gzip', 'identity') === 'gzip');
  const body = gzip ? file.gzipped : file.body;
  res.status(200);
  res.setHeader('content-type', file.contentType);
  res.setHeader('content-length', body.length);
  res.setHeader('vary', 'accept-encoding');
  if (gzip) res.setHeader('content-encoding', 'gzip');
  res.setHeader('cache-control', cacheControl);
  res.setHeader('content-security-policy', CONSOLE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.end(body);
}
