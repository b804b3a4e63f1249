import { MAX_COUNT, MAX_LATENCY_MS, MAX_MAP_ENTRIES, type WireMetrics } from './wire.js';

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
  requests: { total: number; errors: number; slow: number; any: boolean };
  rateLimited: Map<string, number>;
}

/**
 * What applications on this host report between two heartbeats of a
 * service, summed into the contract's `metrics`: per dependency calls,
 * failures, slow calls and p50/p99 latency; request totals; rate-limited
 * counts. Memory is bounded (at most 200 dependencies and policies per
 * service, as the control plane accepts, and 512 latency samples each);
 * what does not fit is counted in {@link overflow}.
 */
export class MetricsAggregator {
  private readonly services = new Map<string, ServiceWindow>();
  /** Reports dropped because a service already had 200 dependencies or policies this window. */
  overflow = 0;

  constructor(
    private readonly opts: { slowCallDurationMs: number; slowRequestDurationMs: number; random?: () => number },
  ) {}

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
    if (durationMs !== undefined && durationMs > this.opts.slowRequestDurationMs) r.slow++;
  }

  addRequests(service: string, counts: { total: number; errors: number; slow: number }): void {
    const r = this.window(service).requests;
    r.any = true;
    r.total += counts.total;
    r.errors += counts.errors;
    r.slow += counts.slow;
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
    if (w.requests.any) out.requests = { total: cap(w.requests.total), errors: cap(w.requests.errors), slow: cap(w.requests.slow) };
    if (w.rateLimited.size > 0) out.rateLimited = Object.fromEntries([...w.rateLimited].map(([policy, n]) => [policy, cap(n)]));
    return Object.keys(out).length > 0 ? out : undefined;
  }

  private window(service: string): ServiceWindow {
    let w = this.services.get(service);
    if (!w) {
      w = { dependencies: new Map(), requests: { total: 0, errors: 0, slow: 0, any: false }, rateLimited: new Map() };
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
