import { Module } from '@nestjs/common';
import { ApiKeyRepository } from './api-key.repository.js';
import { ApiKeyService } from './api-key.service.js';
import { CallAccessPolicy } from './call-access.js';
import { CallerAuthService } from './caller-auth.service.js';
import { KeyEvents } from './key-events.js';
import { LastUsedTracker } from './last-used.tracker.js';
import { ScopeGuard } from './scope.guard.js';

@Module({
  providers: [ApiKeyRepository, ApiKeyService, CallAccessPolicy, CallerAuthService, KeyEvents, LastUsedTracker, ScopeGuard],
  exports: [ApiKeyService, CallAccessPolicy, CallerAuthService, ScopeGuard],
})
export class AuthModule {}
