/**
 * A small map with per-entry expiry and a size bound (oldest inserted evicted
 * first). Time comes from `now` so tests need not sleep. A bound of 0 (or a
 * TTL of 0) caches nothing.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /**
   * The value even after it expired (an expired entry stays until it is read
   * with {@link get}, evicted or deleted), and whether it is still fresh: for
   * callers that may fall back on what they knew while its source is down.
   */
  peek(key: K): { value: V; fresh: boolean } | undefined {
    const e = this.entries.get(key);
    return e ? { value: e.value, fresh: e.expiresAt > this.now() } : undefined;
  }

  set(key: K, value: V, ttlMs: number): void {
    this.entries.delete(key);
    if (this.maxEntries <= 0 || ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Removes every entry whose value matches. */
  deleteWhere(match: (value: V) => boolean): void {
    for (const [k, e] of this.entries) if (match(e.value)) this.entries.delete(k);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
