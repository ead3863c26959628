import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { AdminKeysController } from './admin-keys.controller.js';
import { AdminKeysService } from './admin-keys.service.js';

/** `/admin`: key administration for keys with the `admin` scope. */
@Module({
  imports: [AuthModule, AuditModule],
  controllers: [AdminKeysController],
  providers: [AdminKeysService],
})
export class AdminModule {}
