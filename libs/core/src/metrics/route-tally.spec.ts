import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MetricsService } from './metrics.service.js';

const ROUTE = '/api/v1/heartbeats';

/** The http metrics of a scrape, as `name{labels}` → value. */
async function httpSeries(m: MetricsService): Promise<Map<string, number>> {
  const text = await m.registry.metrics();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(ninefold_http_request\S*) (\S+)$/.exec(line);
    if (match) out.set(match[1], Number(match[2]));
  }
  return out;
}

function expectSame(tallied: Map<string, number>, observed: Map<string, number>): void {
  expect([...tallied.keys()].sort()).toEqual([...observed.keys()].sort());
  for (const [series, value] of observed) {
    // Sums are added in another order, so they may differ in the last bits.
    if (series.includes('_sum')) expect(tallied.get(series)).toBeCloseTo(value, 9);
    else expect([series, tallied.get(series)]).toEqual([series, value]);
  }
}

const request = fc.record({
  status: fc.constantFrom(202, 400, 401, 503),
  seconds: fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(0, 0.001, 0.0025, 0.01, 1, 10, 10.5)),
});

describe('RouteTally (hot-route http metrics counted in plain numbers)', () => {
  it('scrapes exactly as if every request had been observed by prom-client, over any requests and scrapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(request, fc.constant('scrape' as const)), { maxLength: 60 }), async (steps) => {
        const tallied = new MetricsService();
        const observed = new MetricsService();
        const tally = tallied.routeTally('POST', ROUTE);
        for (const step of steps) {
          if (step === 'scrape') {
            expectSame(await httpSeries(tallied), await httpSeries(observed));
            continue;
          }
          tally.record(step.status, step.seconds);
          const labels = { method: 'POST', route: ROUTE, status: String(step.status) };
          observed.httpRequests.inc(labels);
          observed.httpDuration.observe(labels, step.seconds);
        }
        expectSame(await httpSeries(tallied), await httpSeries(observed));
      }),
      { numRuns: 100 },
    );
  });

  it('adds to what prom-client observed directly for the same labels (the route as Nest serves it), counting nothing twice', async () => {
    const tallied = new MetricsService();
    const tally = tallied.routeTally('POST', ROUTE);
    const labels = { method: 'POST', route: ROUTE, status: '202' };
    tallied.httpRequests.inc(labels);
    tallied.httpDuration.observe(labels, 0.003);
    tally.record(202, 0.0005);
    tally.record(202, 0.2);
    tally.record(503, 30);
    const first = await httpSeries(tallied);
    expect(first.get('ninefold_http_requests_total{method="POST",route="/api/v1/heartbeats",status="202"}')).toBe(3);
    expect(first.get('ninefold_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/api/v1/heartbeats",status="202"}')).toBe(1);
    expect(first.get('ninefold_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/heartbeats",status="202"}')).toBe(2);
    expect(first.get('ninefold_http_request_duration_seconds_bucket{le="0.25",method="POST",route="/api/v1/heartbeats",status="202"}')).toBe(3);
    expect(first.get('ninefold_http_request_duration_seconds_count{method="POST",route="/api/v1/heartbeats",status="202"}')).toBe(3);
    expect(first.get('ninefold_http_request_duration_seconds_bucket{le="10",method="POST",route="/api/v1/heartbeats",status="503"}')).toBe(0);
    expect(first.get('ninefold_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/v1/heartbeats",status="503"}')).toBe(1);
    expect(await httpSeries(tallied)).toEqual(first);
  });
});
