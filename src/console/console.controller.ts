import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { GatewayError } from '../common/gateway-error.js';
import { CONSOLE_CSP, ConsoleAssets, type ConsoleFile } from './console-assets.js';

/**
 * The compliance console: a static page that signs in with an `audit:read` key and reads the
 * audit API from the browser. The page itself holds no data, so it needs no key; every read it
 * makes goes through `/audit/*` with the key, and is audited there.
 */
@Controller('console')
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  index(@Res() res: Response): void {
    const page = this.assets.index();
    if (!page) throw GatewayError.notFound('The console is not built: run `npm run build`.');
    send(res, page, 'no-store');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    const file = this.assets.asset(name);
    if (!file) throw GatewayError.notFound();
    // Names carry a content hash: a file never changes under its name.
    send(res, file, 'public, max-age=31536000, immutable');
  }
}

function send(res: Response, file: ConsoleFile, cacheControl: string): void {
  res.status(200);
  res.setHeader('content-type', file.contentType);
  res.setHeader('content-length', file.body.length);
  res.setHeader('cache-control', cacheControl);
  res.setHeader('content-security-policy', CONSOLE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.end(file.body);
}
