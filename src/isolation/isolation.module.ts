import { Module } from '@nestjs/common';
import { IsolationService } from './isolation.service.js';
import { ResourceOwnerLedger } from './resource-owner.ledger.js';
import { ResourceOwnerRepository } from './resource-owner.repository.js';
import { ResourceOwnerPruner } from './resource-owner.pruner.js';

/** Isolation between the teams of one Dify app (user namespaces, owners of Dify ids, dataset allow-lists). */
@Module({
  providers: [IsolationService, ResourceOwnerLedger, ResourceOwnerRepository, ResourceOwnerPruner],
  exports: [IsolationService],
})
export class IsolationModule {}
