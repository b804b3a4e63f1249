import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseHeartbeats } from '../../../libs/registry/src/heartbeat.js';
import { MetricsAggregator, quantile } from './metrics-aggregator.js';
import { DEPENDENCY_PATTERN, MAX_MAP_ENTRIES, type WireHeartbeat, type WireMetrics } from './wire.js';
import { seededRandom } from './gossip/simulation.js';

const OPTS = { slowCallDurationMs: 200, slowRequestDurationMs: 1000 };

/** Seeded, so sampling tests are repeatable. */
const seeded = seededRandom;

/** The latency samples the aggregator holds for one dependency (private state, read to check its bound). */
function samplesOf(agg: MetricsAggregator, service: string, dependency: string): number[] {
  const inner = agg as unknown as { services: Map<string, { dependencies: Map<string, { samples: number[] }> }> };
  return inner.services.get(service)?.dependencies.get(dependency)?.samples ?? [];
}

describe('MetricsAggregator: sums', () => {
  it('sums calls, failures, slow calls, requests and rate-limited counts per service', () => {
    const agg = new MetricsAggregator(OPTS);
    expect(agg.recordCall('web', 'db:5432', true, 10)).toBe(true);
    expect(agg.recordCall('web', 'db:5432', false, 250)).toBe(true);
    expect(agg.recordCall('web', 'db:5432', false)).toBe(true);
    expect(agg.addCalls('web', 'db:5432', { calls: 10, failures: 3, slowCalls: 4 })).toBe(true);
    expect(agg.addCalls('web', 'payments-api', { calls: 5, failures: 0, slowCalls: 0 })).toBe(true);
    agg.recordRequest('web', true, 50);
    agg.recordRequest('web', false, 1500);
    agg.recordRequest('web', true);
    agg.addRequests('web', { total: 100, errors: 7, slow: 9 });
    expect(agg.recordRateLimited('web', 'login', 1)).toBe(true);
    expect(agg.recordRateLimited('web', 'login', 4)).toBe(true);
    expect(agg.recordRateLimited('web', 'search', 2)).toBe(true);
    agg.recordCall('api', 'cache', true, 1);

    expect(agg.take('web')).toEqual({
      dependencies: {
        'db:5432': { calls: 13, failures: 5, slowCalls: 5, latencyMsP50: 10, latencyMsP99: 250 },
        'payments-api': { calls: 5, failures: 0, slowCalls: 0 },
      },
      // 50 ms in the 50 ms bucket, 1500 ms in the 2500 ms one (cumulative, as Prometheus' le); the request without a duration is not measured.
      requests: { total: 103, errors: 8, slow: 10, latencyMs: { '50': 1, '2500': 2, '+Inf': 2 } },
      rateLimited: { login: 5, search: 2 },
    });
    expect(agg.take('api')).toEqual({ dependencies: { cache: { calls: 1, failures: 0, slowCalls: 0, latencyMsP50: 1, latencyMsP99: 1 } } });
    expect(agg.overflow).toBe(0);
  });

  it('reports only the parts that were reported', () => {
    const agg = new MetricsAggregator(OPTS);
    agg.addRequests('web', { total: 0, errors: 0, slow: 0 });
    expect(agg.take('web')).toEqual({ requests: { total: 0, errors: 0, slow: 0 } });
    agg.recordRateLimited('web', 'login', 0);
    expect(agg.take('web')).toEqual({ rateLimited: { login: 0 } });
  });

  it('counts a call or request as slow only when strictly slower than the threshold', () => {
    const agg = new MetricsAggregator(OPTS);
    for (const d of [0, 199, 200, 200.001, 201, 5000]) agg.recordCall('web', 'db', true, d);
    agg.recordCall('web', 'db', true); // no duration: neither slow nor sampled
    for (const d of [999, 1000, 1000.5, 60_000]) agg.recordRequest('web', true, d);
    agg.recordRequest('web', true);
    const m = agg.take('web');
    expect(m?.dependencies?.db).toMatchObject({ calls: 7, slowCalls: 3 });
    expect(m?.requests).toEqual({ total: 5, errors: 0, slow: 2, latencyMs: { '1000': 2, '2500': 3, '+Inf': 4 } });
  });

  it('counts request latencies in the configured buckets, a bound inclusive', () => {
    const agg = new MetricsAggregator({ ...OPTS, latencyBucketsMs: [300, 100] });
    for (const d of [0, 100, 100.5, 300, 301]) agg.recordRequest('web', true, d);
    expect(agg.take('web')?.requests?.latencyMs).toEqual({ '100': 2, '300': 4, '+Inf': 5 });
    // Every one slower than the largest bound: still measured, and a bound says so.
    agg.recordRequest('web', true, 5000);
    expect(agg.take('web')?.requests?.latencyMs).toEqual({ '300': 0, '+Inf': 1 });
  });

  it('adds latency buckets an application counted itself, folding bounds past 64 into the next larger one', () => {
    const agg = new MetricsAggregator(OPTS);
    agg.addRequests('web', { total: 10, errors: 0, slow: 0, latency: { measured: 9, buckets: [[100, 4], [300, 5]] } });
    agg.recordRequest('web', true, 80);
    expect(agg.take('web')?.requests).toEqual({ total: 11, errors: 0, slow: 0, latencyMs: { '100': 5, '300': 10, '+Inf': 10 } });
    // 64 bounds held: a new bound's requests go to the next larger one (counted slower, never faster), or to none.
    const many: [number, number][] = Array.from({ length: 64 }, (_, i) => [(i + 1) * 10, 1]);
    agg.addRequests('web', { total: 64, errors: 0, slow: 0, latency: { measured: 64, buckets: many } });
    agg.addRequests('web', { total: 2, errors: 0, slow: 0, latency: { measured: 2, buckets: [[15, 1], [10_000, 1]] } });
    const l = agg.take('web')?.requests?.latencyMs ?? {};
    expect(Object.keys(l)).toHaveLength(65);
    expect([l['10'], l['20'], l['640'], l['+Inf']]).toEqual([1, 3, 65, 66]);
  });

  it('uses the thresholds it is given', () => {
    const agg = new MetricsAggregator({ slowCallDurationMs: 10, slowRequestDurationMs: 20 });
    agg.recordCall('web', 'db', true, 11);
    agg.recordRequest('web', true, 21);
    expect(agg.take('web')).toMatchObject({ dependencies: { db: { slowCalls: 1 } }, requests: { slow: 1 } });
  });
});

describe('MetricsAggregator: take()', () => {
  it('returns undefined for a service nothing was reported for', () => {
    const agg = new MetricsAggregator(OPTS);
    expect(agg.take('web')).toBeUndefined();
    agg.recordCall('api', 'db', true);
    expect(agg.take('web')).toBeUndefined();
  });

  it('starts a fresh window: a second take() without new reports returns undefined', () => {
    const agg = new MetricsAggregator(OPTS);
    agg.recordCall('web', 'db', false, 300);
    agg.recordRequest('api', true);
    expect(agg.take('web')).toBeDefined();
    expect(agg.take('web')).toBeUndefined();
    agg.recordCall('web', 'db', true, 5);
    expect(agg.take('web')).toEqual({ dependencies: { db: { calls: 1, failures: 0, slowCalls: 0, latencyMsP50: 5, latencyMsP99: 5 } } });
    // Taking one service leaves the others alone.
    expect(agg.take('api')).toEqual({ requests: { total: 1, errors: 0, slow: 0 } });
  });

  it('rounds latencies to hundredths of a millisecond', () => {
    const agg = new MetricsAggregator(OPTS);
    agg.recordCall('web', 'db', true, 1.23456);
    expect(agg.take('web')?.dependencies?.db).toMatchObject({ latencyMsP50: 1.23, latencyMsP99: 1.23 });
  });
});

describe('quantile (nearest rank)', () => {
  const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  it('picks the nearest-rank value', () => {
    expect(quantile([], 0.5)).toBe(0);
    expect(quantile([7], 0.5)).toBe(7);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile(oneTo(100), 0.5)).toBe(50);
    expect(quantile(oneTo(100), 0.99)).toBe(99);
    expect(quantile(oneTo(100), 1)).toBe(100);
    expect(quantile(oneTo(100), 0)).toBe(1);
    expect(quantile(oneTo(10), 0.5)).toBe(5);
    expect(quantile(oneTo(10), 0.99)).toBe(10);
    expect(quantile([1, 2], 0.5)).toBe(1);
    expect(quantile([1, 2, 3], 0.5)).toBe(2);
  });

  it('returns the smallest value with at least q·n values at or below it', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.double({ min: 0.001, max: 1, noNaN: true }), (values, q) => {
        const sorted = [...values].sort((a, b) => a - b);
        const v = quantile(sorted, q);
        const need = Math.ceil(q * sorted.length);
        expect(sorted).toContain(v);
        expect(sorted.filter((x) => x <= v).length).toBeGreaterThanOrEqual(need);
        expect(sorted.filter((x) => x < v).length).toBeLessThan(need);
      }),
    );
  });

  it('gives p50 and p99 of each dependency’s calls', () => {
    const agg = new MetricsAggregator(OPTS);
    // Reported in shuffled order: the aggregator sorts.
    const durations = oneTo(200).sort((a, b) => ((a * 7919) % 200) - ((b * 7919) % 200));
    for (const d of durations) agg.recordCall('web', 'db', true, d);
    expect(agg.take('web')?.dependencies?.db).toMatchObject({ latencyMsP50: 100, latencyMsP99: 198 });
  });
});

describe('MetricsAggregator: latency reservoir', () => {
  it('keeps every sample up to 512, exactly', () => {
    const random = seeded(1);
    let draws = 0;
    const agg = new MetricsAggregator({ ...OPTS, random: () => (draws++, random()) });
    for (let d = 1; d <= 512; d++) agg.recordCall('web', 'db', true, d);
    expect(samplesOf(agg, 'web', 'db')).toHaveLength(512);
    expect(draws).toBe(0);
    expect(agg.take('web')?.dependencies?.db).toMatchObject({ calls: 512, latencyMsP50: 256, latencyMsP99: 507 });
  });

  it('holds at most 512 samples however many calls come, drawing once per call beyond that', () => {
    const random = seeded(2);
    let draws = 0;
    const agg = new MetricsAggregator({ ...OPTS, random: () => (draws++, random()) });
    for (let i = 0; i < 20_000; i++) agg.recordCall('web', 'db', true, i % 1000);
    expect(samplesOf(agg, 'web', 'db')).toHaveLength(512);
    expect(draws).toBe(20_000 - 512);
    expect(agg.take('web')?.dependencies?.db?.calls).toBe(20_000);
  });

  it('samples uniformly over the window (algorithm R), not just the first 512', () => {
    const agg = new MetricsAggregator({ ...OPTS, random: seeded(3) });
    for (let i = 0; i < 512; i++) agg.recordCall('web', 'db', true, 1);
    for (let i = 0; i < 9 * 512; i++) agg.recordCall('web', 'db', true, 100);
    // About 90 % of the reservoir now holds 100 ms.
    const share = samplesOf(agg, 'web', 'db').filter((s) => s === 100).length / 512;
    expect(share).toBeGreaterThan(0.85);
    expect(share).toBeLessThan(0.95);
    expect(agg.take('web')?.dependencies?.db).toMatchObject({ calls: 5120, latencyMsP50: 100, latencyMsP99: 100 });
  });

  it('replaces a sample only when the draw lands inside the reservoir', () => {
    const agg = new MetricsAggregator({ ...OPTS, random: () => 1 - Number.EPSILON });
    for (let i = 0; i < 512; i++) agg.recordCall('web', 'db', true, 1);
    for (let i = 0; i < 1000; i++) agg.recordCall('web', 'db', true, 9999);
    expect(agg.take('web')?.dependencies?.db).toMatchObject({ latencyMsP50: 1, latencyMsP99: 1, slowCalls: 1000 });
  });

  it('works with its default random source', () => {
    const agg = new MetricsAggregator(OPTS);
    for (let i = 0; i < 2000; i++) agg.recordCall('web', 'db', true, 5);
    expect(samplesOf(agg, 'web', 'db')).toHaveLength(512);
    expect(agg.take('web')?.dependencies?.db).toMatchObject({ latencyMsP50: 5, latencyMsP99: 5 });
  });
});

describe('MetricsAggregator: at most 200 dependencies and policies per service', () => {
  it('refuses the 201st dependency of a service, counting it, and keeps accepting the ones it has', () => {
    expect(MAX_MAP_ENTRIES).toBe(200);
    const agg = new MetricsAggregator(OPTS);
    for (let i = 0; i < 200; i++) expect(agg.recordCall('web', `dep-${i}`, true, 1)).toBe(true);
    expect(agg.recordCall('web', 'dep-200', true, 1)).toBe(false);
    expect(agg.addCalls('web', 'dep-201', { calls: 3, failures: 0, slowCalls: 0 })).toBe(false);
    expect(agg.overflow).toBe(2);
    expect(agg.recordCall('web', 'dep-0', false, 1)).toBe(true);
    expect(agg.addCalls('web', 'dep-199', { calls: 1, failures: 1, slowCalls: 0 })).toBe(true);
    // Another service has its own 200.
    expect(agg.recordCall('api', 'dep-200', true)).toBe(true);
    expect(agg.overflow).toBe(2);

    const m = agg.take('web');
    expect(Object.keys(m?.dependencies ?? {})).toHaveLength(200);
    expect(m?.dependencies?.['dep-0']).toMatchObject({ calls: 2, failures: 1 });
    expect(m?.dependencies?.['dep-200']).toBeUndefined();
    // A new window has room again; the overflow count is kept since the start.
    expect(agg.recordCall('web', 'dep-200', true)).toBe(true);
    expect(agg.overflow).toBe(2);
  });

  it('refuses the 201st rate-limit policy of a service, counting it', () => {
    const agg = new MetricsAggregator(OPTS);
    for (let i = 0; i < 200; i++) expect(agg.recordRateLimited('web', `policy-${i}`, 1)).toBe(true);
    expect(agg.recordRateLimited('web', 'policy-200', 1)).toBe(false);
    expect(agg.recordRateLimited('web', 'policy-0', 2)).toBe(true);
    expect(agg.recordRateLimited('api', 'policy-200', 1)).toBe(true);
    expect(agg.overflow).toBe(1);
    const m = agg.take('web');
    expect(Object.keys(m?.rateLimited ?? {})).toHaveLength(200);
    expect(m?.rateLimited?.['policy-0']).toBe(3);
    // Requests are not bounded by the caps.
    agg.recordRequest('web', true);
    expect(agg.take('web')).toEqual({ requests: { total: 1, errors: 0, slow: 0 } });
  });
});

// ---------------------------------------------------------------------------
// Cross-check with the control plane: what the aggregator produces must pass
// the very validator the ingest endpoint runs, or whole heartbeat batches are
// rejected (400) and dropped by the outbox.

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** A heartbeat as the agent makes it (agent.ts), carrying the metrics. */
function heartbeat(service: string, metrics: WireMetrics | undefined): WireHeartbeat {
  return {
    service,
    instance: 'web-01.example.com',
    status: 'up',
    at: new Date(NOW).toISOString(),
    intervalSeconds: 10,
    address: '10.0.0.7',
    port: 8080,
    zone: 'eu-1a',
    region: 'eu-1',
    ...(metrics ? { metrics } : {}),
  };
}

/** Through JSON, as on the wire, then the control plane's validator. */
function validate(body: unknown) {
  return parseHeartbeats(JSON.parse(JSON.stringify(body)) as unknown, NOW);
}

describe('MetricsAggregator: what it produces passes the control plane’s validator', () => {
  it('a call that took longer than the contract’s one-hour latency limit', () => {
    const agg = new MetricsAggregator(OPTS);
    agg.recordCall('web', 'batch-job', true, 2 * 3_600_000); // the intake accepts up to 24 h
    const metrics = agg.take('web');
    expect(metrics?.dependencies?.['batch-job']).toEqual({ calls: 1, failures: 0, slowCalls: 1, latencyMsP50: 3_600_000, latencyMsP99: 3_600_000 });
    expect(validate(heartbeat('web', metrics))).toMatchObject({ ok: true });
  });

  it('counts that add up past the contract’s 1e12 limit', () => {
    const agg = new MetricsAggregator(OPTS);
    // Each report is within what the intake accepts (≤ 1e12); their sum is not.
    agg.addCalls('web', 'db', { calls: 1e12, failures: 1e12, slowCalls: 5 });
    agg.addCalls('web', 'db', { calls: 1e12, failures: 0, slowCalls: 1e12 });
    agg.addRequests('web', { total: 1e12, errors: 1e12, slow: 1e12 });
    agg.addRequests('web', { total: 1, errors: 1, slow: 1 });
    agg.recordRateLimited('web', 'login', 1e12);
    agg.recordRateLimited('web', 'login', 1e12);
    const metrics = agg.take('web');
    expect(metrics).toEqual({
      dependencies: { db: { calls: 1e12, failures: 1e12, slowCalls: 1e12 } },
      requests: { total: 1e12, errors: 1e12, slow: 1e12 },
      rateLimited: { login: 1e12 },
    });
    expect(validate(heartbeat('web', metrics))).toMatchObject({ ok: true });
  });

  /** Metrics as the control plane's validator keeps them: latencyMs' cumulative buckets as per-bucket counts. */
  function asStored(m: WireMetrics): unknown {
    const r = m.requests;
    if (!r?.latencyMs) return m;
    const { latencyMs, ...rest } = r;
    const bounds = Object.keys(latencyMs).filter((k) => k !== '+Inf').sort((a, b) => Number(a) - Number(b));
    const buckets: Record<string, number> = {};
    bounds.forEach((b, i) => {
      const n = latencyMs[b] - (i > 0 ? latencyMs[bounds[i - 1]] : 0);
      if (n > 0) buckets[b] = n;
    });
    return { ...m, requests: { ...rest, latency: { measured: latencyMs['+Inf'] ?? r.total, buckets } } };
  }

  type Op =
    | { op: 'call'; service: string; dependency: string; ok: boolean; durationMs?: number }
    | { op: 'calls'; service: string; dependency: string; calls: number; failures: number; slowCalls: number }
    | { op: 'request'; service: string; ok: boolean; durationMs?: number }
    | { op: 'requests'; service: string; total: number; errors: number; slow: number; latency?: { measured: number; buckets: [number, number][] } }
    | { op: 'rateLimited'; service: string; policy: string; count: number }
    | { op: 'manyDependencies'; service: string; n: number }
    | { op: 'manyPolicies'; service: string; n: number };

  const SERVICES = ['web', 'api', 'worker'];
  const service = fc.constantFrom(...SERVICES);
  // What the intake accepts: names matching DEPENDENCY_PATTERN / the policy pattern, durations 0..24 h, counts 0..1e12.
  const dependency = fc.oneof(fc.constantFrom('db:5432', 'payments-api', 'https://auth.example.com/token', 'redis'), fc.stringMatching(DEPENDENCY_PATTERN));
  const policy = fc.oneof(fc.constantFrom('login', 'search'), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/));
  const durationMs = fc.option(fc.oneof(fc.double({ min: 0, max: 5_000, noNaN: true }), fc.double({ min: 0, max: 86_400_000, noNaN: true })), { nil: undefined });
  const bigCount = fc.oneof(fc.nat(1_000), fc.bigInt({ min: 0n, max: 10n ** 12n }).map(Number));
  /** A count and two parts of it (failures, slow calls), as the intake requires. */
  const counts = fc.tuple(bigCount, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })).map(([n, a, b]) => [n, Math.floor(n * a), Math.floor(n * b)] as const);

  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ service, dependency, ok: fc.boolean(), durationMs }).map((r): Op => ({ op: 'call', service: r.service, dependency: r.dependency, ok: r.ok, ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}) })) },
    { weight: 3, arbitrary: fc.record({ service, dependency, counts }).map(({ service: s, dependency: d, counts: [calls, failures, slowCalls] }): Op => ({ op: 'calls', service: s, dependency: d, calls, failures, slowCalls })) },
    { weight: 3, arbitrary: fc.record({ service, ok: fc.boolean(), durationMs }).map((r): Op => ({ op: 'request', service: r.service, ok: r.ok, ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}) })) },
    {
      weight: 2,
      arbitrary: fc
        .record({ service, counts, latency: fc.option(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.subarray([5, 100, 300, 1500.5, 7000]), fc.nat(1000)), { nil: undefined }) })
        .map(({ service: s, counts: [total, errors, slow], latency }): Op => {
          if (!latency) return { op: 'requests', service: s, total, errors, slow };
          // Some of the requests measured, spread over a few bounds (one not among the agent's own buckets).
          const [share, bounds, seed] = latency;
          const measured = Math.floor(total * share);
          let left = measured;
          const buckets = bounds.map((le, i): [number, number] => {
            const n = i === bounds.length - 1 ? Math.floor(left / 2) : Math.floor(left / (2 + ((seed + i) % 3)));
            left -= n;
            return [le, n];
          });
          return { op: 'requests', service: s, total, errors, slow, latency: { measured, buckets } };
        }),
    },
    { weight: 2, arbitrary: fc.record({ service, policy, count: bigCount }).map((r): Op => ({ op: 'rateLimited', ...r })) },
    { weight: 1, arbitrary: fc.record({ service, n: fc.integer({ min: 1, max: 260 }) }).map((r): Op => ({ op: 'manyDependencies', ...r })) },
    { weight: 1, arbitrary: fc.record({ service, n: fc.integer({ min: 1, max: 260 }) }).map((r): Op => ({ op: 'manyPolicies', ...r })) },
  );

  function apply(agg: MetricsAggregator, o: Op): void {
    switch (o.op) {
      case 'call':
        agg.recordCall(o.service, o.dependency, o.ok, o.durationMs);
        return;
      case 'calls':
        agg.addCalls(o.service, o.dependency, o);
        return;
      case 'request':
        agg.recordRequest(o.service, o.ok, o.durationMs);
        return;
      case 'requests':
        agg.addRequests(o.service, o);
        return;
      case 'rateLimited':
        agg.recordRateLimited(o.service, o.policy, o.count);
        return;
      case 'manyDependencies':
        for (let i = 0; i < o.n; i++) agg.recordCall(o.service, `many-${i}.svc`, i % 3 !== 0, i * 7.5);
        return;
      case 'manyPolicies':
        for (let i = 0; i < o.n; i++) agg.recordRateLimited(o.service, `policy-${i}`, i);
        return;
    }
  }

  it('for any sequence of reports, each service’s metrics and the whole batch of heartbeats are valid', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer(), (ops, seed) => {
        const agg = new MetricsAggregator({ ...OPTS, random: seeded(seed) });
        for (const o of ops) apply(agg, o);
        const beats = SERVICES.map((s) => heartbeat(s, agg.take(s)));
        for (const hb of beats) {
          const one = validate(hb);
          if (!one.ok) throw new Error(`rejected by the control plane: ${one.errors.join('; ')}`);
          // Nothing is lost or changed by the validator either (latency buckets are stored per bucket, not cumulative).
          expect(one.heartbeats[0].metrics ?? undefined).toEqual(hb.metrics === undefined ? undefined : asStored(JSON.parse(JSON.stringify(hb.metrics)) as WireMetrics));
        }
        // As agent.ts posts several due together.
        expect(validate({ heartbeats: beats })).toMatchObject({ ok: true });
        // And every window was emptied.
        for (const s of SERVICES) expect(agg.take(s)).toBeUndefined();
      }),
      { numRuns: 150 },
    );
  });

  it('sums what it was told, for any sequence of reports (a model of the caps included)', () => {
    const MAX_COUNT = 1e12;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const agg = new MetricsAggregator(OPTS);
        const deps = new Map<string, Map<string, { calls: number; failures: number; slowCalls: number }>>();
        const reqs = new Map<string, { total: number; errors: number; slow: number; measured: number; buckets: Map<number, number> }>();
        const DEFAULT_BOUNDS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
        const limited = new Map<string, Map<string, number>>();
        let overflow = 0;
        const dep = (s: string, d: string) => {
          const m = deps.get(s) ?? new Map<string, { calls: number; failures: number; slowCalls: number }>();
          deps.set(s, m);
          if (!m.has(d)) {
            if (m.size >= MAX_MAP_ENTRIES) {
              overflow++;
              return undefined;
            }
            m.set(d, { calls: 0, failures: 0, slowCalls: 0 });
          }
          return m.get(d);
        };
        const req = (s: string) => {
          const r = reqs.get(s) ?? { total: 0, errors: 0, slow: 0, measured: 0, buckets: new Map<number, number>() };
          reqs.set(s, r);
          return r;
        };
        const limit = (s: string, p: string, n: number) => {
          const m = limited.get(s) ?? new Map<string, number>();
          limited.set(s, m);
          if (!m.has(p) && m.size >= MAX_MAP_ENTRIES) overflow++;
          else m.set(p, (m.get(p) ?? 0) + n);
        };
        for (const o of ops) {
          apply(agg, o);
          if (o.op === 'call') {
            const d = dep(o.service, o.dependency);
            if (d) {
              d.calls++;
              if (!o.ok) d.failures++;
              if (o.durationMs !== undefined && o.durationMs > OPTS.slowCallDurationMs) d.slowCalls++;
            }
          } else if (o.op === 'calls') {
            const d = dep(o.service, o.dependency);
            if (d) {
              d.calls += o.calls;
              d.failures += o.failures;
              d.slowCalls += o.slowCalls;
            }
          } else if (o.op === 'request') {
            const r = req(o.service);
            r.total++;
            if (!o.ok) r.errors++;
            if (o.durationMs !== undefined && o.durationMs > OPTS.slowRequestDurationMs) r.slow++;
            if (o.durationMs !== undefined) {
              r.measured++;
              const le = DEFAULT_BOUNDS.find((b) => b >= o.durationMs!);
              if (le !== undefined) r.buckets.set(le, (r.buckets.get(le) ?? 0) + 1);
            }
          } else if (o.op === 'requests') {
            const r = req(o.service);
            r.total += o.total;
            r.errors += o.errors;
            r.slow += o.slow;
            if (o.latency) {
              r.measured += o.latency.measured;
              for (const [le, n] of o.latency.buckets) if (n > 0) r.buckets.set(le, (r.buckets.get(le) ?? 0) + n);
            }
          } else if (o.op === 'rateLimited') limit(o.service, o.policy, o.count);
          else if (o.op === 'manyDependencies') {
            for (let i = 0; i < o.n; i++) {
              const d = dep(o.service, `many-${i}.svc`);
              if (d) {
                d.calls++;
                if (i % 3 === 0) d.failures++;
                if (i * 7.5 > OPTS.slowCallDurationMs) d.slowCalls++;
              }
            }
          } else for (let i = 0; i < o.n; i++) limit(o.service, `policy-${i}`, i);
        }
        const cap = (n: number) => Math.min(n, MAX_COUNT);
        expect(agg.overflow).toBe(overflow);
        for (const s of SERVICES) {
          const m = agg.take(s);
          // Compared as objects: key order is JavaScript's (integer-like names such as "0" first), not the report order.
          const expectedDeps = Object.fromEntries([...(deps.get(s) ?? [])].map(([name, d]) => [name, { calls: cap(d.calls), failures: cap(d.failures), slowCalls: cap(d.slowCalls) }]));
          expect(Object.fromEntries(Object.entries(m?.dependencies ?? {}).map(([name, d]) => [name, { calls: d.calls, failures: d.failures, slowCalls: d.slowCalls }]))).toEqual(expectedDeps);
          const r = reqs.get(s);
          let latencyMs: Record<string, number> | undefined;
          if (r && r.measured > 0) {
            latencyMs = {};
            let within = 0;
            for (const le of [...r.buckets.keys()].sort((a, b) => a - b)) latencyMs[String(le)] = cap((within += r.buckets.get(le)!));
            if (r.buckets.size === 0) latencyMs['10000'] = 0;
            latencyMs['+Inf'] = cap(r.measured);
          }
          expect(m?.requests).toEqual(r ? { total: cap(r.total), errors: cap(r.errors), slow: cap(r.slow), ...(latencyMs ? { latencyMs } : {}) } : undefined);
          const l = limited.get(s);
          expect(m?.rateLimited).toEqual(l && l.size > 0 ? Object.fromEntries([...l].map(([p, n]) => [p, cap(n)])) : undefined);
        }
      }),
      { numRuns: 100 },
    );
  });
});
