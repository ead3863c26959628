import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditWriter } from '../audit/write/audit-writer.js';
import { ResourceOwnerRepository, type ResourceOwnerKey } from './resource-owner.repository.js';

type OwnerRecord = ResourceOwnerKey & { namespace: string };

/** Where owner rows are written: the audit writer, in the statement of its next batch. */
export type OwnerCarrier = Pick<AuditWriter, 'carryOwners'>;

const keyOf = (k: ResourceOwnerKey) => `${k.appAlias}\u0000${k.kind}\u0000${k.resourceId}`;

/**
 * Owners of Dify ids. They ride in the audit writer's statements (`AuditWriter.carryOwners`), so
 * a chat answer's message id costs no insert and commit of its own: with the next batch nobody
 * waits for (call outcomes), or after 10 ms with the batch written then, or alone when there is
 * none. A call does not wait for them, unless it asks (`urgent`: a form token, which another
 * replica may be handed at once); they then go at once. Until committed, an owner is known to
 * this process only: another replica finds none and refuses the id like a stranger's (fail
 * closed), and so does this one if the insert fails.
 */
@Injectable()
export class ResourceOwnerLedger {
  private readonly logger = new Logger(ResourceOwnerLedger.name);
  /** Handed to the writer, not committed yet (known here until their batch is over). */
  private readonly pending = new Map<string, { owner: OwnerRecord; committed: Promise<void> }>();

  constructor(
    private readonly owners: ResourceOwnerRepository,
    @Inject(AuditWriter) private readonly carrier: OwnerCarrier,
  ) {}

  /**
   * Queues owners for the writer's next batch; the promise says when they are committed (await
   * it only where another replica must know them at once, and pass `urgent`). Never rejects: a
   * failed insert is logged, and the ids stay unowned (refused).
   */
  record(owners: ReadonlyArray<OwnerRecord>, urgent = false): Promise<void> {
    // Nothing to wait for: not the insert of owners other calls queued (a chat answer without a
    // form token would otherwise wait a round trip for its own message id's insert).
    if (owners.length === 0) return Promise.resolve();
    const waits: Promise<void>[] = [];
    const fresh = new Map<string, OwnerRecord>();
    for (const owner of owners) {
      // The first caller answered with an id keeps it, as the table's unique key does.
      const key = keyOf(owner);
      const known = this.pending.get(key);
      if (known) waits.push(known.committed);
      else if (!fresh.has(key)) fresh.set(key, owner);
    }
    if (fresh.size > 0) waits.push(this.carry(fresh, urgent));
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  async ownerOf(key: ResourceOwnerKey): Promise<string | null> {
    const local = this.pending.get(keyOf(key));
    if (local) return local.owner.namespace;
    return this.owners.ownerOf(key);
  }

  /** Hands `fresh` (none of them pending) to the writer; they stay known here until their statement is over. */
  private carry(fresh: Map<string, OwnerRecord>, urgent: boolean): Promise<void> {
    const forget = () => {
      for (const key of fresh.keys()) this.pending.delete(key);
    };
    const committed = this.carrier.carryOwners([...fresh.values()], urgent).then(forget, (error: unknown) => {
      forget();
      this.logger.error(`could not record the owner of ${fresh.size} Dify id(s): ${(error as Error).name}`);
    });
    for (const [key, owner] of fresh) this.pending.set(key, { owner, committed });
    return committed;
  }
}
