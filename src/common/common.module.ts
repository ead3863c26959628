import { Global, Module } from '@nestjs/common';
import { GatewaySignals } from './gateway-signals.js';
import { RefusalListeners } from './refusal-listeners.js';
import { ShutdownService } from './shutdown.service.js';

/** Process-wide services: the drain on shutdown, the listeners of refused requests. */
@Global()
@Module({
  providers: [ShutdownService, RefusalListeners, GatewaySignals],
  exports: [ShutdownService, RefusalListeners, GatewaySignals],
})
export class CommonModule {}
