import { All, Controller, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ShutdownService } from '../common/shutdown.service.js';
import { DifyProxyService } from './dify.service.js';

/** Everything under /v1 goes through the route table; the table, not Nest, decides what exists. */
@Controller('v1')
export class DifyController {
  constructor(
    private readonly proxy: DifyProxyService,
    private readonly shutdown: ShutdownService,
  ) {}

  @All(['', '*path'])
  handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.shutdown.track((shutdownSignal) => this.proxy.handle(req, res, shutdownSignal));
  }
}
