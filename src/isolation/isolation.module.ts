import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { IsolationService } from './isolation.service.js';
import { ResourceOwnerRepository } from './resource-owner.repository.js';
import { ResourceOwnerPruner } from './resource-owner.pruner.js';

/** Isolation between the teams of one Dify app (user namespaces, owners of Dify ids, dataset allow-lists). */
@Module({
  imports: [AuthModule],
  providers: [IsolationService, ResourceOwnerRepository, ResourceOwnerPruner],
  exports: [IsolationService],
})
export class IsolationModule {}
