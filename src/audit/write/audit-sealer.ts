import { DuplicateKeyError } from '../../database/driver-errors.js';
import type { RawSql, SqlQuery, SqlSession } from '../../database/raw-sql.js';
import type { ChainHead, RecordedEvent, StoredEvent } from '../audit-event.js';
import { GENESIS_HASH } from './audit-chain.js';
import { recordedEventOfRow, type RawEventRow } from './audit-sql.js';
import { DELETE_TAKEN_SQL, INSERT_SEALED_SQL, READ_PENDING_SQL, sealedJson } from './audit-statements.js';

/** The sequencer's lease: whoever holds it seals; the others skip. */
export const SEAL_LOCK_KEY = 4_178_032_001;
/** Events hashed and signed between two yields to the event loop (about 10–30 ms of work). */
const LINK_CHUNK = 500;

/** Computes the chain columns of `events` placed after `head` (see `linkEvents`). */
export type ChainLinker = (head: ChainHead, events: RecordedEvent[], now: Date) => StoredEvent[];

/** What one sealing round did: null when another replica holds the lease. */
export interface SealResult {
  sealed: StoredEvent[];
  /** Rows removed from the inbox that were already sealed (a retried write that had committed). */
  duplicates: number;
  /** The batch was full: more rows may be waiting (seal again at once; a full next batch is already read and linked). */
  more: boolean;
}

/** What one sealing round did, as the sequencer counts it. */
export interface SealSummary {
  /** Events sealed into the chain. */
  count: number;
  /** Inbox rows dropped because they were already sealed (a retried write that had committed). */
  duplicates: number;
  /** The batch was full: more rows may be waiting (seal again at once). */
  more: boolean;
  /** Each sealed event's seal lag (`recordedAt - receivedAt`, database clock), in seconds. */
  lagsSeconds: number[];
}

/** A round's result as the sequencer counts it (in process, or sent back by the sealing thread). */
export function summarizeSeal(result: SealResult): SealSummary {
  return {
    count: result.sealed.length,
    duplicates: result.duplicates,
    more: result.more,
    lagsSeconds: result.sealed.map((e) => (e.receivedAt ? (e.recordedAt.getTime() - e.receivedAt.getTime()) / 1000 : 0)),
  };
}

/** A batch read from the inbox and linked, not sealed yet. */
interface Linked {
  pendingNos: string[];
  /** The head it was linked after: the round checks it is still the head before inserting. */
  after: ChainHead;
  sealed: StoredEvent[];
  duplicates: number;
}

class StaleHead extends Error {}

/**
 * Sealing rounds for `AuditRepository.seal`, pipelined. The lease is a session advisory lock on
 * a connection of the sequencer's own, kept while it lives: a holder pays no lock round trip per
 * round, and one that dies (even by SIGKILL) or fails a round loses it with that connection.
 * While a backlog drains (full batches), a round's transaction (delete the batch from the inbox,
 * check the head, insert the chain rows) runs on that connection while the next batch is read on
 * another and linked after the batch in flight, so hashing and signing overlap the database's
 * work. A linked batch is only used if the transaction before it committed and the head is still
 * what it was linked after.
 */
export class InboxSealer {
  private lease?: SqlSession;
  private holdsLease = false;
  private next?: Linked;

  constructor(private readonly sql: () => RawSql) {}

  async round(limit: number, link: ChainLinker): Promise<SealResult | null> {
    const session = await this.leased();
    if (!session) return null;
    try {
      const batch = this.next ?? (await this.readAndLink(limit, link, [], null));
      this.next = undefined;
      if (batch.pendingNos.length === 0) return { sealed: [], duplicates: 0, more: false };
      const committing = session.transaction((tx) => this.commit(tx, batch));
      // A full batch means a backlog: the next one is read and linked while this one commits.
      // A partial one took everything there was: the next round reads afresh after the interval,
      // so a steady load is sealed in batches of an interval's worth, not in a stream of tiny
      // rounds (each round's fixed cost, six round trips and a commit, would then be per event).
      const full = batch.pendingNos.length >= limit;
      const last = batch.sealed.at(-1);
      const after = last ? { seq: last.seq, hash: last.hash, recordedAt: last.recordedAt } : batch.after;
      const following = full ? this.readAndLink(limit, link, batch.pendingNos, after) : Promise.resolve(undefined);
      // Both settle before either result is used: no read may outlive a failed round unseen.
      const [committed, next] = await Promise.allSettled([committing, following]);
      if (committed.status === 'rejected') throw committed.reason;
      // Only a full read-ahead is kept: a partial one would leave out what arrived since it was read.
      if (next.status === 'fulfilled' && next.value && next.value.pendingNos.length >= limit) this.next = next.value;
      return { sealed: batch.sealed, duplicates: batch.duplicates, more: full };
    } catch (err) {
      this.next = undefined;
      // A duplicate id in flight (a retried write sealed by the batch before) or a moved head:
      // read again from the database, keeping the lease.
      if (err instanceof StaleHead || err instanceof DuplicateKeyError || (err as { code?: unknown }).code === '23505') {
        return { sealed: [], duplicates: 0, more: true };
      }
      await this.release(); // any other failure gives the lease up: another replica may do better
      throw err;
    }
  }

  /** Gives the lease up (closes its connection) and forgets what was read ahead. */
  async release(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.holdsLease = false;
    this.next = undefined;
    await lease?.close();
  }

  private async leased(): Promise<SqlSession | null> {
    if (!this.lease?.alive) {
      this.holdsLease = false;
      this.next = undefined;
      this.lease = await this.sql().session();
    }
    if (!this.holdsLease) {
      const [{ locked }] = await this.lease.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [SEAL_LOCK_KEY]);
      this.holdsLease = locked;
    }
    return this.holdsLease ? this.lease : null;
  }

  /** Reads the oldest inbox rows not in `exclude` and links them after `after` (null: the head, read now). */
  private async readAndLink(limit: number, link: ChainLinker, exclude: string[], after: ChainHead | null): Promise<Linked> {
    const rows = await this.sql().query<RawEventRow>(READ_PENDING_SQL, [limit, exclude]);
    const pendingNos = rows.map((r) => String(r.pending_no));
    const fresh = rows.filter((r) => !r.already_sealed).map(recordedEventOfRow);
    const now = rows.length > 0 ? new Date(rows[0].now as Date) : new Date();
    const head = after ?? (await readHead(this.sql()));
    return { pendingNos, after: head, sealed: await linkInChunks(link, head, fresh, now), duplicates: rows.length - fresh.length };
  }

  private async commit(tx: SqlQuery, batch: Linked): Promise<void> {
    const [{ n }] = await tx.query<{ n: number }>(DELETE_TAKEN_SQL, [batch.pendingNos]);
    if (n !== batch.pendingNos.length) throw new StaleHead('inbox rows gone');
    const head = await readHead(tx);
    if (head.seq !== batch.after.seq || head.hash !== batch.after.hash) throw new StaleHead('head moved');
    if (batch.sealed.length > 0) await tx.query(INSERT_SEALED_SQL, [sealedJson(batch.sealed)]);
  }
}

/** The chain head (with the seal lease held): the last event, or the retention anchor, or the genesis. */
async function readHead(db: SqlQuery): Promise<ChainHead> {
  const [row] = await db.query<{
    seq: string | number | null;
    hash: string | null;
    recorded_at: Date | null;
    anchor_seq: string | number | null;
    anchor_hash: string | null;
  }>(`
    SELECT e.seq, e.hash, e.recorded_at, a.seq AS anchor_seq, a.hash AS anchor_hash
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (SELECT seq, hash, recorded_at FROM audit_events ORDER BY seq DESC LIMIT 1) AS e ON true
      LEFT JOIN LATERAL (SELECT seq, hash FROM audit_checkpoints WHERE kind = 'anchor' ORDER BY seq DESC LIMIT 1) AS a ON e.seq IS NULL`);
  if (row.seq !== null && row.hash !== null) return { seq: Number(row.seq), hash: row.hash, recordedAt: row.recorded_at ? new Date(row.recorded_at) : null };
  // Every row purged (or none yet): continue from the retention anchor, or from the genesis.
  if (row.anchor_seq !== null && row.anchor_hash !== null) return { seq: Number(row.anchor_seq), hash: row.anchor_hash, recordedAt: null };
  return { seq: 0, hash: GENESIS_HASH, recordedAt: null };
}

/** Links in chunks, yielding to the event loop between them: calls keep being served while a big batch is hashed and signed. */
async function linkInChunks(link: ChainLinker, head: ChainHead, events: RecordedEvent[], now: Date): Promise<StoredEvent[]> {
  const sealed: StoredEvent[] = [];
  let after = head;
  for (let i = 0; i < events.length; i += LINK_CHUNK) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    const part = link(after, events.slice(i, i + LINK_CHUNK), now);
    for (const e of part) sealed.push(e);
    const last = part[part.length - 1];
    after = { seq: last.seq, hash: last.hash, recordedAt: last.recordedAt };
  }
  return sealed;
}
