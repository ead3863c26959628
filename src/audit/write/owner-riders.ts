/**
 * Owner rows waiting for a statement of the audit writer (see `AuditWriter.carryOwners`). They
 * never lengthen a write-ahead somebody waits for: they ride with a batch nobody waits for, or,
 * once they have waited `delayMs` (`isDue`), with whatever is written then, or alone beside the
 * batches; urgent ones go at once. This class keeps the queue, its counts and its timer; the
 * writer decides which statement takes them.
 */

/** A row of `dify_resource_owners`: which team's namespace a Dify id belongs to (src/isolation/resource-owner.ledger.ts). */
export interface OwnerRow {
  appAlias: string;
  kind: string;
  resourceId: string;
  namespace: string;
}

/** Postgres text cannot hold NUL; every other string can. */
export function storableOwner(row: OwnerRow): boolean {
  return [row.appAlias, row.kind, row.resourceId, row.namespace].every((v) => typeof v === 'string' && !v.includes('\u0000'));
}

/** Most owner rows in one statement (bind arrays, far below Postgres' limits). */
const MAX_OWNER_ROWS = 2_000;

export interface Riding {
  rows: readonly OwnerRow[];
  /** Goes at once (the caller waits); otherwise once due, or with a batch nobody waits for. */
  urgent: boolean;
  resolve(): void;
  reject(error: Error): void;
}

export class OwnerRiders {
  private entries: Riding[] = [];
  private urgentCount = 0;
  private due = false;
  private timer?: NodeJS.Timeout;

  /** `onDue` is told when rows have waited `delayMs`. */
  constructor(
    private readonly delayMs: number,
    private readonly onDue: () => void,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** Rows somebody waits for are queued. */
  get urgent(): boolean {
    return this.urgentCount > 0;
  }

  /** Rows have waited their delay (or more than one statement's worth is queued). */
  get isDue(): boolean {
    return this.due;
  }

  /** Queues rows; resolves once the statement that took them committed. */
  add(rows: readonly OwnerRow[], urgent: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.entries.push({ rows, urgent, resolve, reject });
      if (urgent) this.urgentCount += 1;
      else
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.due = true;
          this.onDue();
        }, this.delayMs);
    });
  }

  /** The entries of the next statement: whole ones, at most MAX_OWNER_ROWS rows unless one entry has more. */
  board(): Riding[] {
    let rows = 0;
    let count = 0;
    while (count < this.entries.length && (count === 0 || rows + this.entries[count].rows.length <= MAX_OWNER_ROWS)) {
      rows += this.entries[count].rows.length;
      count += 1;
    }
    const riding = this.entries.splice(0, count);
    this.urgentCount -= riding.filter((r) => r.urgent).length;
    this.due = this.entries.length > 0; // more than one statement's worth: the rest go next
    if (this.entries.length === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return riding;
  }

  /** Fails every queued entry (the writer closed). */
  rejectAll(error: Error): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const riding of this.entries.splice(0)) riding.reject(error);
    this.urgentCount = 0;
    this.due = false;
  }
}
