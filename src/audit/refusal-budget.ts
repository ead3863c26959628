/** How many refusals without a key are written as their own events. */
export interface RefusalBudgetOptions {
  /** Events a source may cause at once... */
  burst: number;
  /** ...and then per second. */
  perSecond: number;
  /** Events all sources together may cause per second (many addresses, one attacker). */
  totalPerSecond: number;
  /** Sources remembered; beyond it the least recently seen are forgotten. */
  maxSources: number;
  /** Distinct (source, reason) pairs counted per aggregate; the rest are counted as `other`. */
  maxCounted: number;
}

export const DEFAULT_REFUSAL_BUDGET: RefusalBudgetOptions = { burst: 5, perSecond: 0.2, totalPerSecond: 20, maxSources: 10_000, maxCounted: 1_000 };

interface Bucket {
  tokens: number;
  at: number;
}

export interface RefusalCount {
  source: string;
  reason: string;
  count: number;
}

/** What happened since the last aggregate: every refusal, recorded one by one or not. */
export interface RefusalSummary {
  since: Date;
  until: Date;
  total: number;
  /** Refusals that got no event of their own. */
  suppressed: number;
  counts: RefusalCount[];
  /** Refusals from pairs beyond `maxCounted`. */
  other: number;
}

/**
 * Decides which refusals of unauthenticated requests get an audit event of their own: a token
 * bucket per source address and one for all of them, so no caller chooses how many rows the
 * gateway writes. Every refusal is counted for the periodic aggregate (`take()`). Memory is
 * bounded by `maxSources` and `maxCounted`.
 */
export class RefusalBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly total: Bucket;
  private counts = new Map<string, RefusalCount>();
  private other = 0;
  private seen = 0;
  private suppressed = 0;
  private since: number;

  constructor(
    private readonly options: RefusalBudgetOptions = DEFAULT_REFUSAL_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
    this.total = { tokens: options.totalPerSecond, at: this.since };
  }

  /** Counts the refusal; true when it may be written as its own event. */
  admit(source: string, reason: string): boolean {
    this.count(source, reason);
    const now = this.now();
    let bucket = this.buckets.get(source);
    if (bucket) {
      this.buckets.delete(source); // re-inserted last: the Map's order is the eviction order
    } else {
      bucket = { tokens: this.options.burst, at: now };
      if (this.buckets.size >= this.options.maxSources) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(source, bucket);
    refill(bucket, now, this.options.perSecond, this.options.burst);
    refill(this.total, now, this.options.totalPerSecond, this.options.totalPerSecond);
    if (bucket.tokens >= 1 && this.total.tokens >= 1) {
      bucket.tokens -= 1;
      this.total.tokens -= 1;
      return true;
    }
    this.suppressed++;
    return false;
  }

  /** The counts since the last call, or undefined when nothing was refused; starts a new period. */
  take(): RefusalSummary | undefined {
    const until = this.now();
    const summary: RefusalSummary = {
      since: new Date(this.since),
      until: new Date(until),
      total: this.seen,
      suppressed: this.suppressed,
      counts: [...this.counts.values()].sort((a, b) => b.count - a.count),
      other: this.other,
    };
    this.counts = new Map();
    this.other = this.seen = this.suppressed = 0;
    this.since = until;
    return summary.total > 0 ? summary : undefined;
  }

  private count(source: string, reason: string): void {
    this.seen++;
    const key = `${source}\u0000${reason}`;
    const entry = this.counts.get(key);
    if (entry) entry.count++;
    else if (this.counts.size < this.options.maxCounted) this.counts.set(key, { source, reason, count: 1 });
    else this.other++;
  }
}

function refill(bucket: Bucket, now: number, perSecond: number, cap: number): void {
  bucket.tokens = Math.min(cap, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
  bucket.at = now;
}
