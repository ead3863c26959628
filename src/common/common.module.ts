import { Global, Module } from '@nestjs/common';
import { ShutdownService } from './shutdown.service.js';

/** Process-wide services: the drain on shutdown. */
@Global()
@Module({
  providers: [ShutdownService],
  exports: [ShutdownService],
})
export class CommonModule {}
