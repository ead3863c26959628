import type { AuditConfig } from '../config/gateway-config.js';
import type { OpenDatabase } from '../database/open-database.js';
import { linkEvents } from './write/audit-chain.js';
import { AuditMaintenance } from './write/audit-maintenance.js';
import { AuditReadRepository } from './read/audit-read.repository.js';
import { AuditSequencer, sealInProcess } from './write/audit-sequencer.js';
import { SealThread } from './write/seal-thread-client.js';
import { AuditSigner } from './write/audit-signer.js';
import { AuditVerifyService } from './read/audit-verify.service.js';
import { AuditWriter } from './write/audit-writer.js';
import { AuditRepository } from './write/audit.repository.js';
import { AuditService } from './audit.service.js';

/** The audit log's parts wired by hand, outside Nest: for the CLI, scripts and tests. */
export interface AuditLog {
  repository: AuditRepository;
  read: AuditReadRepository;
  signer: AuditSigner;
  writer: AuditWriter;
  sequencer: AuditSequencer;
  service: AuditService;
  verifier: AuditVerifyService;
  maintenance: AuditMaintenance;
  /** Writes what is queued, seals what is recorded, then stops accepting events. */
  close(): Promise<void>;
}

export function createWriter(repository: AuditRepository, cfg: Pick<AuditConfig, 'batch' | 'writeTimeoutMs'>): AuditWriter {
  return new AuditWriter(repository, { maxBatch: cfg.batch.maxSize, maxWaitMs: cfg.batch.maxWaitMs, timeoutMs: cfg.writeTimeoutMs });
}

/** On Postgres the rounds run in a worker thread of their own (`SealThread`); on PGlite, here. */
export function createSequencer(
  repository: AuditRepository,
  signer: AuditSigner,
  cfg: Pick<AuditConfig, 'seal' | 'signingKeys'>,
  postgresUrl: string | undefined,
): AuditSequencer {
  const port = postgresUrl
    ? new SealThread({ connectionString: postgresUrl, signingKeys: cfg.signingKeys.map((k) => k.reveal()) }, repository)
    : sealInProcess(repository, (head, events, now) => linkEvents(head, events, now, signer));
  return new AuditSequencer(port, cfg.seal);
}

/**
 * The sequencer loop is not started here (`sequencer.start()`, or `sealNow()` when needed).
 * `sealInProcess`: rounds in this thread even on Postgres, sharing the repository's lease (tests
 * that call `repository.seal` themselves).
 */
export function createAuditLog(
  db: Pick<OpenDatabase, 'client' | 'sql' | 'kind' | 'holdSessionLock'>,
  cfg: AuditConfig,
  options: { sealInProcess?: boolean } = {},
): AuditLog {
  const repository = new AuditRepository(db);
  const read = new AuditReadRepository(db);
  const signer = new AuditSigner(cfg.signingKeys);
  const writer = createWriter(repository, cfg);
  const sequencer = createSequencer(repository, signer, cfg, options.sealInProcess ? undefined : db.sql.connectionString);
  const service = new AuditService(writer, cfg);
  const verifier = new AuditVerifyService(read, signer, cfg);
  const maintenance = new AuditMaintenance(service, writer, sequencer, repository, signer, db, cfg);
  return {
    repository,
    read,
    signer,
    writer,
    sequencer,
    service,
    verifier,
    maintenance,
    async close() {
      await writer.close(5000);
      await sequencer.sealNow(5000).catch(() => undefined);
      await sequencer.close();
    },
  };
}
