/**
 * One read shared by every gauge of a scrape: `read` runs at most once per
 * `ttlMs`, and gauges asking within that time get the same promise. For
 * metrics computed from the database on /metrics (SLOs, instance states).
 */
export function scrapeSnapshot<T>(ttlMs: number, read: () => Promise<T>, now: () => number = Date.now): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    const t = now();
    if (!last || t - last.at > ttlMs) last = { at: t, value: read() };
    return last.value;
  };
}
