import fc from 'fast-check';
import { availabilityOver, composeAvailability, spansFrom } from './availability.js';

const H = 3600_000;

describe('availability from state history', () => {
  it('is the share of known time not DOWN; DEGRADED counts as available, UNKNOWN is left out', () => {
    const spans = spansFrom('UNKNOWN', 0, [{ atMs: 1 * H, to: 'UP' }, { atMs: 5 * H, to: 'DOWN' }, { atMs: 6 * H, to: 'DEGRADED' }], 11 * H);
    expect(spans).toEqual([
      { state: 'UNKNOWN', fromMs: 0, toMs: H },
      { state: 'UP', fromMs: H, toMs: 5 * H },
      { state: 'DOWN', fromMs: 5 * H, toMs: 6 * H },
      { state: 'DEGRADED', fromMs: 6 * H, toMs: 11 * H },
    ]);
    expect(availabilityOver(spans, 0, 11 * H)).toEqual({ availability: 0.9, downSeconds: 3600, knownSeconds: 36_000 });
    // A window that sees only the outage.
    expect(availabilityOver(spans, 5 * H, 6 * H).availability).toBe(0);
    // A window with no data.
    expect(availabilityOver(spans, 0, H).availability).toBeNull();
  });

  it('clips transitions outside the window', () => {
    const spans = spansFrom('DOWN', 10 * H, [{ atMs: 2 * H, to: 'UP' }, { atMs: 12 * H, to: 'DOWN' }], 14 * H);
    expect(availabilityOver(spans, 10 * H, 14 * H)).toMatchObject({ availability: 0.5 });
  });

  it('stays within [0, 1] and adds up (property)', () => {
    const state = fc.constantFrom('UP' as const, 'DEGRADED' as const, 'DOWN' as const, 'UNKNOWN' as const);
    fc.assert(
      fc.property(state, fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 100 * H }), to: state }), { maxLength: 30 }), (initial, ts) => {
        const sorted = [...ts].sort((a, b) => a.atMs - b.atMs);
        const spans = spansFrom(initial, 0, sorted, 100 * H);
        const total = spans.reduce((n, s) => n + (s.toMs - s.fromMs), 0);
        expect(total).toBe(100 * H);
        const a = availabilityOver(spans, 0, 100 * H);
        if (a.availability !== null) {
          expect(a.availability).toBeGreaterThanOrEqual(0);
          expect(a.availability).toBeLessThanOrEqual(1);
        }
        expect(a.downSeconds).toBeLessThanOrEqual(a.knownSeconds);
      }),
    );
  });
});

describe('composed availability', () => {
  it('multiplies groups in sequence and combines members of a group in parallel', () => {
    expect(composeAvailability(0.999, [])).toBeCloseTo(0.999, 12);
    expect(composeAvailability(1, [[0.99], [0.99]])).toBeCloseTo(0.9801, 12);
    expect(composeAvailability(1, [[0.99, 0.99]])).toBeCloseTo(0.9999, 12);
    expect(composeAvailability(0.999, [[0.9995], [0.99, 0.99]])).toBeCloseTo(0.999 * 0.9995 * 0.9999, 12);
  });
});
