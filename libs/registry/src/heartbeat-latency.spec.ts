import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseHeartbeats } from './heartbeat.js';

const NOW = Date.UTC(2026, 10, 30, 12);

/** Parses one heartbeat carrying these request metrics. */
function parse(requests: unknown) {
  return parseHeartbeats({ service: 'web', instance: 'web-1', metrics: { requests } }, NOW);
}

describe('heartbeats: metrics.requests.latencyMs (cumulative latency buckets)', () => {
  it('keeps per-bucket counts and the requests measured', () => {
    const r = parse({ total: 100, errors: 2, latencyMs: { '50': 60, '100': 90, '250': 90, '1000': 97, '+Inf': 99 } });
    expect(r).toEqual({ ok: true, heartbeats: [expect.objectContaining({ metrics: { requests: { total: 100, errors: 2, latency: { measured: 99, buckets: { '50': 60, '100': 30, '1000': 7 } } } } })] });
  });

  it('takes total as the requests measured without "+Inf", in any key order, bounds normalised', () => {
    const r = parse({ total: 10, errors: 0, latencyMs: { '300.0': 9, '2.5': 1 } });
    expect(r.ok && r.heartbeats[0].metrics?.requests?.latency).toEqual({ measured: 10, buckets: { '2.5': 1, '300': 8 } });
  });

  it.each([
    [{ total: 10, errors: 0, latencyMs: [1, 2] }, 'metrics.requests.latencyMs must be an object of cumulative buckets'],
    [{ total: 10, errors: 0, latencyMs: {} }, 'must have 1 to 64 bounds'],
    [{ total: 10, errors: 0, latencyMs: { '100': 5, '50': 6 } }, 'metrics.requests.latencyMs["100"] must not be below metrics.requests.latencyMs["50"]: buckets are cumulative'],
    [{ total: 10, errors: 0, latencyMs: { '100': 8, '+Inf': 7 } }, 'latencyMs["+Inf"] must not be below'],
    [{ total: 10, errors: 0, latencyMs: { '100': 11 } }, 'latencyMs["100"]: 11 requests must not exceed total (10)'],
    [{ total: 10, errors: 0, latencyMs: { '100': 1, '+Inf': 11 } }, 'latencyMs["+Inf"]: 11 requests measured must not exceed total (10)'],
    [{ total: 10, errors: 0, latencyMs: { fast: 1 } }, 'bucket "fast" must be "+Inf" or an upper bound in ms'],
    [{ total: 10, errors: 0, latencyMs: { '0': 1 } }, 'bucket "0" must be "+Inf" or an upper bound in ms above 0'],
    [{ total: 10, errors: 0, latencyMs: { '1e3': 1 } }, 'bucket "1e3"'],
    [{ total: 10, errors: 0, latencyMs: { '100': 1, '100.0': 2 } }, 'buckets "100" and "100.0" have the same bound'],
    [{ total: 10, errors: 0, latencyMs: { '100': -1 } }, 'latencyMs["100"] must be a non-negative integer'],
    [{ total: 10, errors: 0, latencyMs: { '+Inf': 3 } }, 'must have at least one bound besides "+Inf"'],
    [{ total: 10, errors: 0, latencyMs: Object.fromEntries(Array.from({ length: 66 }, (_, i) => [String(i + 1), 0])) }, 'must have 1 to 64 bounds'],
  ])('rejects %j naming what is wrong', (requests, message) => {
    const r = parse(requests);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join('\n')).toContain(message);
  });

  it('for any valid cumulative buckets: the requests counted within a threshold are the cumulative count at the largest bound not above it', () => {
    const bucketsArb = fc
      .uniqueArray(fc.integer({ min: 1, max: 3_600_000 }), { minLength: 1, maxLength: 64 })
      .chain((bounds) => fc.tuple(fc.constant(bounds.sort((a, b) => a - b)), fc.array(fc.nat(1000), { minLength: bounds.length, maxLength: bounds.length }), fc.nat(1000), fc.nat(1000), fc.boolean()));
    fc.assert(
      fc.property(bucketsArb, fc.integer({ min: 1, max: 3_600_000 }), ([bounds, steps, slower, unmeasured, withInf], threshold) => {
        // Cumulative counts from non-negative steps.
        let c = 0;
        const cumulative = steps.map((s) => (c += s));
        const measured = c + slower;
        const latencyMs: Record<string, number> = Object.fromEntries(bounds.map((b, i) => [String(b), cumulative[i]]));
        if (withInf) latencyMs['+Inf'] = measured;
        const total = withInf ? measured + unmeasured : c;
        const r = parse({ total, errors: 0, latencyMs });
        if (!r.ok) throw new Error(r.errors.join('; '));
        const latency = r.heartbeats[0].metrics!.requests!.latency!;
        expect(latency.measured).toBe(withInf ? measured : total);
        const within = Object.entries(latency.buckets).reduce((n, [le, k]) => (Number(le) <= threshold ? n + k : n), 0);
        const i = bounds.findLastIndex((b) => b <= threshold);
        expect(within).toBe(i < 0 ? 0 : cumulative[i]);
      }),
    );
  });
});
