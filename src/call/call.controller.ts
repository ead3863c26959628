import { All, Controller, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CallPipeline } from './call.pipeline.js';

/** Everything under /v1 goes through the route table; the table, not Nest, decides what exists. */
@Controller('v1')
export class CallController {
  constructor(private readonly pipeline: CallPipeline) {}

  @All(['', '*path'])
  handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.pipeline.run(req, res);
  }
}
