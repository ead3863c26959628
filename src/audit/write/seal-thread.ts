/**
 * The sequencer's worker thread, started by ./seal-thread-client.ts (Postgres): sealing rounds
 * (read the inbox, hash, sign, insert into the chain) run here on a pool of their own, so their
 * JSON, hashing and row parsing never hold the event loop that serves calls. The lease is this
 * thread's own session: it dies with the process, as the in-process one does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Secret } from '../../config/secret.js';
import { DatabaseUnavailableError, DuplicateKeyError, translateDriverError } from '../../database/driver-errors.js';
import { postgresRawSql } from '../../database/raw-sql.js';
import { linkEvents } from './audit-chain.js';
import { InboxSealer, summarizeSeal, type SealSummary } from './audit-sealer.js';
import { AuditSigner } from './audit-signer.js';

export interface SealThreadOptions {
  connectionString: string;
  /** The signing keys' values (the first signs), as `AUDIT_SIGNING_KEY_FILE` gave them. */
  signingKeys: string[];
}

export type SealRequest = { id: number; op: 'seal'; limit: number } | { id: number; op: 'release' | 'close' };

/** An error's name, its fixed message (already translated: never a value of a row) and SQLSTATE. */
export interface SealThreadError {
  name: string;
  message: string;
  code?: string;
}

export type SealReply = { id: number; value?: SealSummary | null; error?: SealThreadError };

/** Our errors keep their fixed messages; a driver's own message may quote values, so only its name and SQLSTATE cross. */
function threadError(err: unknown): SealThreadError {
  const e = translateDriverError(err);
  const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
  if (e instanceof DatabaseUnavailableError || e instanceof DuplicateKeyError) return { name: e.name, message: e.message, code };
  const name = e instanceof Error ? e.name : 'Error';
  return { name, message: code ? `${name} (SQLSTATE ${code})` : name, code };
}

/** A read and the lease: the sealer never runs more at once. */
const POOL_SIZE = 2;

function serve(port: NonNullable<typeof parentPort>, options: SealThreadOptions): void {
  const sql = postgresRawSql(options.connectionString, () => undefined, POOL_SIZE);
  const signer = new AuditSigner(options.signingKeys.map((k) => new Secret(k)));
  const sealer = new InboxSealer(() => sql);
  const run = async (request: SealRequest): Promise<SealSummary | null | undefined> => {
    switch (request.op) {
      case 'seal': {
        const result = await sealer.round(request.limit, (head, events, now) => linkEvents(head, events, now, signer));
        return result && summarizeSeal(result);
      }
      case 'release':
        await sealer.release();
        return undefined;
      case 'close':
        await sealer.release();
        await sql.close();
        return undefined;
    }
  };
  port.on('message', (request: SealRequest) => {
    run(request).then(
      (value) => port.postMessage({ id: request.id, value } satisfies SealReply),
      (err: unknown) => port.postMessage({ id: request.id, error: threadError(err) } satisfies SealReply),
    );
  });
}

if (parentPort) serve(parentPort, workerData as SealThreadOptions);
