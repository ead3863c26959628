import { Module } from '@nestjs/common';
import { HttpModule } from '@nestjs/axios';
import { TerminusModule } from '@nestjs/terminus';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { DifyClient } from './dify.client.js';
import { DifyController } from './dify.controller.js';
import { DifyHealthIndicator } from './dify.health.js';
import { DifyProxyService } from './dify.service.js';

@Module({
  imports: [
    // Keep-alive pools to Dify; TLS certificates are always verified.
    HttpModule.register({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256, rejectUnauthorized: true }),
    }),
    TerminusModule,
    AuthModule,
    AuditModule,
  ],
  controllers: [DifyController],
  providers: [DifyClient, DifyProxyService, DifyHealthIndicator],
  exports: [DifyHealthIndicator],
})
export class DifyModule {}
