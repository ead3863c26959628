import { All, Controller, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { requestIdOf } from '../common/request-id.middleware.js';
import { ShutdownService } from '../common/shutdown.service.js';
import { DifyProxyService } from './dify.service.js';

/** Everything under /v1 goes through the route table; the table, not Nest, decides what exists. */
@Controller('v1')
export class DifyController {
  constructor(
    private readonly proxy: DifyProxyService,
    private readonly shutdown: ShutdownService,
    private readonly pino: PinoLogger,
  ) {}

  @All(['', '*path'])
  handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    // pino-http does not run for /v1 (src/common/logging.ts): the request id goes on this call's lines here.
    return this.pino.runInContext(() => this.shutdown.track((shutdownSignal) => this.proxy.handle(req, res, shutdownSignal)), { bindings: { requestId: requestIdOf(req) } });
  }
}
