import type { ApiKeyMatch } from './api-key.repository.js';
import { ALL_KEYS } from './key-events.js';

interface Entry {
  match: ApiKeyMatch | null;
  expiresAt: number;
}

/**
 * This replica's memory of recent key lookups, by secret hash, for `ttlMs` (unknown secrets
 * too, so a flood of wrong keys does not reach the database). Bounded: the oldest entries go
 * first. `invalidate(keyId)` drops both secrets of a key; a lookup that started before an
 * invalidation does not store its (possibly stale) answer.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private epoch = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** `undefined` when not cached; `null` is a cached "no such key". */
  get(hash: string): ApiKeyMatch | null | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.match;
  }

  /** A token to pass to `set`: the answer of a lookup is stored only if nothing was invalidated meanwhile. */
  begin(): number {
    return this.epoch;
  }

  set(hash: string, match: ApiKeyMatch | null, startedAt: number): void {
    if (!this.enabled || startedAt !== this.epoch) return;
    this.entries.delete(hash);
    this.entries.set(hash, { match, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  invalidate(keyId: string): void {
    this.epoch++;
    if (keyId === ALL_KEYS) {
      this.entries.clear();
      return;
    }
    for (const [hash, entry] of this.entries) {
      if (entry.match?.record.id === keyId) this.entries.delete(hash);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
