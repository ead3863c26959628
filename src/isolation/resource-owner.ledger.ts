import { Injectable, Logger } from '@nestjs/common';
import { ResourceOwnerRepository, type ResourceOwnerKey } from './resource-owner.repository.js';

type OwnerRecord = ResourceOwnerKey & { namespace: string };

const keyOf = (k: ResourceOwnerKey) => `${k.appAlias}\u0000${k.kind}\u0000${k.resourceId}`;
/** Rows per INSERT statement (bind parameters stay far below Postgres' limit). */
const MAX_BATCH = 2_000;

/**
 * Owners of Dify ids, group-committed: the calls of one moment share one insert, written after
 * their answers (a call does not wait on the database for them). Until it is committed, an owner
 * is known to this process only; another replica finds none and refuses the id like a stranger's
 * (fail closed), and so does this one if the insert fails.
 */
@Injectable()
export class ResourceOwnerLedger {
  private readonly logger = new Logger(ResourceOwnerLedger.name);
  /** Queued for the next insert. */
  private queued = new Map<string, OwnerRecord>();
  /** Being inserted now (still known here until the insert is over). */
  private writing = new Map<string, OwnerRecord>();
  private flushing?: Promise<void>;
  private next?: Promise<void>;

  constructor(private readonly owners: ResourceOwnerRepository) {}

  /**
   * Queues owners for the next group insert; the promise says when they are committed (await it
   * only where another replica must know them at once). Never rejects: a failed insert is logged,
   * and the ids stay unowned (refused).
   */
  record(owners: ReadonlyArray<OwnerRecord>): Promise<void> {
    // Nothing to wait for: not the insert of owners other calls queued (a chat answer without a
    // form token would otherwise wait a round trip for its own message id's insert).
    if (owners.length === 0) return Promise.resolve();
    for (const owner of owners) {
      const key = keyOf(owner);
      // The first caller answered with an id keeps it, as the table's unique key does.
      if (!this.queued.has(key) && !this.writing.has(key)) this.queued.set(key, owner);
    }
    return this.queued.size === 0 ? Promise.resolve() : this.schedule();
  }

  async ownerOf(key: ResourceOwnerKey): Promise<string | null> {
    const k = keyOf(key);
    const local = this.queued.get(k) ?? this.writing.get(k);
    if (local) return local.namespace;
    return this.owners.ownerOf(key);
  }

  /** One insert at a time; the owners queued meanwhile (the calls of one moment) go in the next. */
  private schedule(): Promise<void> {
    if (!this.next) {
      const previous = this.flushing;
      const run = (async () => {
        await previous;
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.next = undefined;
        await this.write();
      })();
      this.next = run;
      this.flushing = run;
    }
    return this.next;
  }

  private async write(): Promise<void> {
    this.writing = this.queued;
    this.queued = new Map();
    const batch = [...this.writing.values()];
    try {
      for (let i = 0; i < batch.length; i += MAX_BATCH) await this.owners.record(batch.slice(i, i + MAX_BATCH));
    } catch (error) {
      this.logger.error(`could not record the owner of ${batch.length} Dify id(s): ${(error as Error).name}`);
    } finally {
      this.writing = new Map();
    }
  }
}
