import type { AuditConfig } from '../config/gateway-config.js';
import type { OpenDatabase } from '../database/open-database.js';
import { linkEvents } from './audit-chain.js';
import { AuditMaintenance } from './audit-maintenance.js';
import { AuditReadRepository } from './audit-read.repository.js';
import { AuditSigner } from './audit-signer.js';
import { AuditVerifyService } from './audit-verify.service.js';
import { AuditWriter } from './audit-writer.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';

/** The audit log's parts wired by hand, outside Nest: for the CLI, scripts and tests. */
export interface AuditLog {
  repository: AuditRepository;
  read: AuditReadRepository;
  signer: AuditSigner;
  writer: AuditWriter;
  service: AuditService;
  verifier: AuditVerifyService;
  maintenance: AuditMaintenance;
  /** Writes what is queued, then stops accepting events. */
  close(): Promise<void>;
}

export function createAuditLog(db: Pick<OpenDatabase, 'client' | 'kind' | 'holdSessionLock'>, cfg: AuditConfig): AuditLog {
  const repository = new AuditRepository(db);
  const read = new AuditReadRepository(db);
  const signer = new AuditSigner(cfg.signingKeys);
  const writer = new AuditWriter(repository, (head, bodies, now) => linkEvents(head, bodies, now, signer), {
    maxBatch: cfg.batch.maxSize,
    maxWaitMs: cfg.batch.maxWaitMs,
    timeoutMs: cfg.writeTimeoutMs,
  });
  const service = new AuditService(writer, cfg);
  const verifier = new AuditVerifyService(read, signer);
  const maintenance = new AuditMaintenance(service, writer, repository, signer, db, cfg);
  return { repository, read, signer, writer, service, verifier, maintenance, close: () => writer.close(5000) };
}
