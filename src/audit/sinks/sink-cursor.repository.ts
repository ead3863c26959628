import { createHash } from 'node:crypto';
import type { PrismaService } from '../../database/prisma.service.js';
import type { SqlSession } from '../../database/raw-sql.js';

/** First key of every sink's advisory lock `(class, hash of the name)`: apart from the sealer's one-bigint key space. */
export const SINK_LOCK_CLASS = 417_803;

export interface SinkCursor {
  lastSeq: number;
  lastHash: string | null;
  deliveredAt: Date | null;
}

export interface SinkBacklog {
  /** Highest sealed seq (0: none). */
  head: number;
  /** When the oldest event not delivered yet was sealed (null: none waiting), and the database clock. */
  oldestWaiting: Date | null;
  now: Date;
}

/**
 * The sinks' own table (`audit_sink_cursors`) and leases, on bare SQL beside the audit log's. The
 * lease is a session advisory lock on a connection of the sink's own, as the sealer's is: its
 * holder delivers, a holder that dies (even by SIGKILL) loses it with its connection, and the
 * cursor only moves forward on that same connection, so a replica that lost the lease cannot move it.
 */
export class SinkCursorRepository {
  constructor(private readonly prisma: Pick<PrismaService, 'sql'>) {}

  lease(sink: string): SinkLease {
    return new SinkLease(this.prisma, sink);
  }

  /** The cursor as stored (any replica: for lag figures); lastSeq 0 when the sink never delivered. */
  async read(sink: string): Promise<SinkCursor> {
    const [row] = await this.prisma.sql.query<CursorRow>('SELECT last_seq, last_hash, delivered_at FROM audit_sink_cursors WHERE sink = $1', [sink]);
    return cursorOf(row);
  }

  /** How far the log is ahead of `afterSeq`. */
  async backlog(afterSeq: number): Promise<SinkBacklog> {
    const [row] = await this.prisma.sql.query<{ head: string | number | null; oldest: Date | null; now: Date }>(
      `SELECT (SELECT max(seq) FROM audit_events) AS head,
              (SELECT recorded_at FROM audit_events WHERE seq > $1::bigint ORDER BY seq LIMIT 1) AS oldest,
              clock_timestamp() AS now`,
      [afterSeq],
    );
    return { head: Number(row.head ?? 0), oldestWaiting: row.oldest ? new Date(row.oldest) : null, now: new Date(row.now) };
  }
}

type CursorRow = { last_seq: string | number; last_hash: string | null; delivered_at: Date | null } | undefined;

function cursorOf(row: CursorRow): SinkCursor {
  return { lastSeq: Number(row?.last_seq ?? 0), lastHash: row?.last_hash ?? null, deliveredAt: row?.delivered_at ? new Date(row.delivered_at) : null };
}

export class SinkLease {
  private session?: SqlSession;
  private held = false;
  private readonly key: [number, number];

  constructor(
    private readonly prisma: Pick<PrismaService, 'sql'>,
    private readonly sink: string,
  ) {
    this.key = [SINK_LOCK_CLASS, createHash('sha256').update(sink).digest().readInt32BE(0)];
  }

  /** True when this replica holds the sink's lease (taken now if free). */
  async hold(): Promise<boolean> {
    if (!this.session?.alive) {
      this.held = false;
      this.session = await this.prisma.sql.session();
    }
    if (!this.held) {
      const [{ locked }] = await this.session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS locked', this.key);
      this.held = locked;
    }
    return this.held;
  }

  /** The cursor, read on the lease's connection (the row is created at 0 the first time). */
  async cursor(): Promise<SinkCursor> {
    const session = this.leased();
    await session.query('INSERT INTO audit_sink_cursors (sink) VALUES ($1) ON CONFLICT (sink) DO NOTHING', [this.sink]);
    const [row] = await session.query<CursorRow>('SELECT last_seq, last_hash, delivered_at FROM audit_sink_cursors WHERE sink = $1', [this.sink]);
    return cursorOf(row);
  }

  /** Moves the cursor forward to `seq` (never back: a replayed batch leaves it where it is). */
  async advance(seq: number, hash: string): Promise<void> {
    await this.leased().query(
      `UPDATE audit_sink_cursors SET last_seq = $2::bigint, last_hash = $3, delivered_at = clock_timestamp()
        WHERE sink = $1 AND last_seq < $2::bigint`,
      [this.sink, seq, hash],
    );
  }

  /** Gives the lease up (PGlite is one session for the process: unlock explicitly). */
  async release(): Promise<void> {
    const session = this.session;
    const held = this.held;
    this.session = undefined;
    this.held = false;
    if (!session) return;
    if (held && session.alive) await session.query('SELECT pg_advisory_unlock($1::int, $2::int)', this.key).catch(() => undefined);
    await session.close();
  }

  private leased(): SqlSession {
    if (!this.session?.alive || !this.held) throw new Error('sink lease not held');
    return this.session;
  }
}
