import { MAX_COUNT, MAX_LATENCY_BUCKETS, MAX_LATENCY_MS, MAX_MAP_ENTRIES, type WireMetrics } from './wire.js';

/** Latency samples kept per dependency between two heartbeats (reservoir sampling beyond that). */
const RESERVOIR = 512;

interface DependencyWindow {
  calls: number;
  failures: number;
  slowCalls: number;
  /** Uniform sample of this window's durations (Vitter's algorithm R). */
  samples: number[];
  sampled: number;
}

interface ServiceWindow {
  dependencies: Map<string, DependencyWindow>;
  requests: { total: number; errors: number; slow: number; any: boolean; latency: LatencyWindow };
  rateLimited: Map<string, number>;
}

/** Request latencies of a window: requests measured, and per bucket upper bound (ms) the requests within it and above the bound below (not cumulative). */
interface LatencyWindow {
  measured: number;
  buckets: Map<number, number>;
}

/** Prometheus' default histogram buckets, in ms. */
export const DEFAULT_LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/**
 * What applications on this host report between two heartbeats of a
 * service, summed into the contract's `metrics`: per dependency calls,
 * failures, slow calls and p50/p99 latency; request totals and latency
 * buckets (for latency SLOs: `latencyBucketsMs`, at most 64 bounds); rate-limited
 * counts. Memory is bounded (at most 200 dependencies and policies per
 * service, as the control plane accepts, and 512 latency samples each);
 * what does not fit is counted in {@link overflow}.
 */
export class MetricsAggregator {
  private readonly services = new Map<string, ServiceWindow>();
  /** Reports dropped because a service already had 200 dependencies or policies this window. */
  overflow = 0;

  constructor(
    private readonly opts: { slowCallDurationMs: number; slowRequestDurationMs: number; latencyBucketsMs?: number[]; random?: () => number },
  ) {
    this.bounds = [...(opts.latencyBucketsMs ?? DEFAULT_LATENCY_BUCKETS_MS)].sort((a, b) => a - b);
  }

  /** Upper bounds (ms, ascending) of the buckets a measured request falls in. */
  private readonly bounds: number[];

  /** One call to a dependency. */
  recordCall(service: string, dependency: string, ok: boolean, durationMs?: number): boolean {
    const d = this.dependency(service, dependency);
    if (!d) return false;
    d.calls++;
    if (!ok) d.failures++;
    if (durationMs !== undefined) {
      if (durationMs > this.opts.slowCallDurationMs) d.slowCalls++;
      this.sample(d, durationMs);
    }
    return true;
  }

  /** Counts an application aggregated itself. */
  addCalls(service: string, dependency: string, counts: { calls: number; failures: number; slowCalls: number }): boolean {
    const d = this.dependency(service, dependency);
    if (!d) return false;
    d.calls += counts.calls;
    d.failures += counts.failures;
    d.slowCalls += counts.slowCalls;
    return true;
  }

  recordRequest(service: string, ok: boolean, durationMs?: number): void {
    const r = this.window(service).requests;
    r.any = true;
    r.total++;
    if (!ok) r.errors++;
    if (durationMs === undefined) return;
    if (durationMs > this.opts.slowRequestDurationMs) r.slow++;
    r.latency.measured++;
    const le = firstAtLeast(this.bounds, durationMs);
    // Slower than every bound: measured, in no bucket.
    if (le !== undefined) r.latency.buckets.set(le, (r.latency.buckets.get(le) ?? 0) + 1);
  }

  /**
   * Counts an application aggregated itself; `latency`: its latency buckets,
   * not cumulative (the intake converts the wire's cumulative ones).
   */
  addRequests(service: string, counts: { total: number; errors: number; slow: number; latency?: { measured: number; buckets: [number, number][] } }): void {
    const r = this.window(service).requests;
    r.any = true;
    r.total += counts.total;
    r.errors += counts.errors;
    r.slow += counts.slow;
    if (!counts.latency) return;
    r.latency.measured += counts.latency.measured;
    const kept = r.latency.buckets;
    for (const [le, n] of counts.latency.buckets) {
      if (n === 0) continue;
      if (kept.has(le) || kept.size < MAX_LATENCY_BUCKETS) {
        kept.set(le, (kept.get(le) ?? 0) + n);
        continue;
      }
      // Bounds full: into the next larger one (counted slower, never faster), else slower than all.
      const larger = [...kept.keys()].filter((k) => k > le).sort((a, b) => a - b)[0];
      if (larger !== undefined) kept.set(larger, kept.get(larger)! + n);
    }
  }

  recordRateLimited(service: string, policy: string, count: number): boolean {
    const w = this.window(service);
    if (!w.rateLimited.has(policy) && w.rateLimited.size >= MAX_MAP_ENTRIES) {
      this.overflow++;
      return false;
    }
    w.rateLimited.set(policy, (w.rateLimited.get(policy) ?? 0) + count);
    return true;
  }

  /** The service's metrics since the last call (undefined when nothing was reported), and a fresh window. */
  take(service: string): WireMetrics | undefined {
    const w = this.services.get(service);
    if (!w) return undefined;
    this.services.delete(service);
    const out: WireMetrics = {};
    if (w.dependencies.size > 0) {
      out.dependencies = {};
      for (const [name, d] of w.dependencies) {
        const entry: NonNullable<WireMetrics['dependencies']>[string] = { calls: cap(d.calls), failures: cap(d.failures), slowCalls: cap(d.slowCalls) };
        if (d.samples.length > 0) {
          const sorted = [...d.samples].sort((a, b) => a - b);
          // The intake takes durations up to a day; the contract's latencies stop at an hour.
          entry.latencyMsP50 = Math.min(round(quantile(sorted, 0.5)), MAX_LATENCY_MS);
          entry.latencyMsP99 = Math.min(round(quantile(sorted, 0.99)), MAX_LATENCY_MS);
        }
        out.dependencies[name] = entry;
      }
    }
    if (w.requests.any) {
      out.requests = { total: cap(w.requests.total), errors: cap(w.requests.errors), slow: cap(w.requests.slow) };
      const l = w.requests.latency;
      if (l.measured > 0) {
        // Cumulative on the wire, as Prometheus' le buckets.
        const latencyMs: Record<string, number> = {};
        let within = 0;
        for (const le of [...l.buckets.keys()].sort((a, b) => a - b)) {
          within += l.buckets.get(le)!;
          latencyMs[String(le)] = cap(within);
        }
        if (Object.keys(latencyMs).length === 0) latencyMs[String(this.bounds[this.bounds.length - 1] ?? MAX_LATENCY_MS)] = 0;
        latencyMs['+Inf'] = cap(l.measured);
        out.requests.latencyMs = latencyMs;
      }
    }
    if (w.rateLimited.size > 0) out.rateLimited = Object.fromEntries([...w.rateLimited].map(([policy, n]) => [policy, cap(n)]));
    return Object.keys(out).length > 0 ? out : undefined;
  }

  private window(service: string): ServiceWindow {
    let w = this.services.get(service);
    if (!w) {
      w = { dependencies: new Map(), requests: { total: 0, errors: 0, slow: 0, any: false, latency: { measured: 0, buckets: new Map() } }, rateLimited: new Map() };
      this.services.set(service, w);
    }
    return w;
  }

  private dependency(service: string, name: string): DependencyWindow | undefined {
    const w = this.window(service);
    let d = w.dependencies.get(name);
    if (!d) {
      if (w.dependencies.size >= MAX_MAP_ENTRIES) {
        this.overflow++;
        return undefined;
      }
      d = { calls: 0, failures: 0, slowCalls: 0, samples: [], sampled: 0 };
      w.dependencies.set(name, d);
    }
    return d;
  }

  private sample(d: DependencyWindow, value: number): void {
    d.sampled++;
    if (d.samples.length < RESERVOIR) d.samples.push(value);
    else {
      const j = Math.floor((this.opts.random ?? Math.random)() * d.sampled);
      if (j < RESERVOIR) d.samples[j] = value;
    }
  }
}

/** The first of ascending `bounds` at least `v` (binary search). */
function firstAtLeast(bounds: number[], v: number): number | undefined {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return bounds[lo];
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * Each report is at most MAX_COUNT (the intake checks), but their sum over a
 * window may not be: one heartbeat over the contract's limit would get its
 * whole batch rejected. Capping both parts keeps failures ≤ calls.
 */
function cap(n: number): number {
  return Math.min(n, MAX_COUNT);
}
