import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { IsolationService } from './isolation.service.js';
import { ResourceOwnerLedger } from './resource-owner.ledger.js';
import { ResourceOwnerRepository } from './resource-owner.repository.js';
import { ResourceOwnerPruner } from './resource-owner.pruner.js';

/** Isolation between the teams of one Dify app (user namespaces, owners of Dify ids, dataset allow-lists). */
@Module({
  // The audit writer carries owner rows in its batches (ResourceOwnerLedger).
  imports: [AuditModule],
  providers: [IsolationService, ResourceOwnerLedger, ResourceOwnerRepository, ResourceOwnerPruner],
  exports: [IsolationService],
})
export class IsolationModule {}
