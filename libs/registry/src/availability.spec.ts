import fc from 'fast-check';
import { availabilityOver, composeAvailability, dailyAvailability, spansFrom, type StateSpan, utcDaysStart, withMaintenance } from './availability.js';

const H = 3600_000;
const D = 24 * H;

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

  it("counts an instance's SUSPECT (overdue, not confirmed down) as up", () => {
    const spans = spansFrom('UNKNOWN', 0, [{ atMs: 0, to: 'UP' }, { atMs: 2 * H, to: 'SUSPECT' }, { atMs: 3 * H, to: 'DOWN' }, { atMs: 4 * H, to: 'UP' }], 8 * H);
    expect(availabilityOver(spans, 0, 8 * H)).toEqual({ availability: 7 / 8, downSeconds: 3600, knownSeconds: 8 * 3600 });
  });

  it('clips transitions outside the window', () => {
    const spans = spansFrom('DOWN', 10 * H, [{ atMs: 2 * H, to: 'UP' }, { atMs: 12 * H, to: 'DOWN' }], 14 * H);
    expect(availabilityOver(spans, 10 * H, 14 * H)).toMatchObject({ availability: 0.5 });
  });

  it('stays within [0, 1] and adds up (property)', () => {
    const state = fc.constantFrom('UP' as const, 'DEGRADED' as const, 'SUSPECT' as const, 'DOWN' as const, 'UNKNOWN' as const);
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

describe('maintenance and rolled-up periods', () => {
  it('leaves maintenance out of both sides: an outage inside a window costs nothing', () => {
    const spans = spansFrom('UP', 0, [{ atMs: 2 * H, to: 'DOWN' }, { atMs: 3 * H, to: 'UP' }], 10 * H);
    const marked = withMaintenance(spans, [{ fromMs: 90 * 60_000, toMs: 3 * H }]);
    expect(marked).toEqual([
      { state: 'UP', fromMs: 0, toMs: 90 * 60_000 },
      { state: 'MAINTENANCE', fromMs: 90 * 60_000, toMs: 2 * H },
      { state: 'MAINTENANCE', fromMs: 2 * H, toMs: 3 * H },
      { state: 'UP', fromMs: 3 * H, toMs: 10 * H },
    ]);
    expect(availabilityOver(marked, 0, 10 * H)).toEqual({ availability: 1, downSeconds: 0, knownSeconds: 8.5 * 3600 });
  });

  it('counts the part of a MIXED (rolled-up) span inside a window pro rata', () => {
    const hour: StateSpan = { state: 'MIXED', fromMs: 0, toMs: H, knownMs: 40 * 60_000, downMs: 10 * 60_000 };
    expect(availabilityOver([hour], 0, H)).toEqual({ availability: 0.75, downSeconds: 600, knownSeconds: 2400 });
    expect(availabilityOver([hour], 30 * 60_000, 2 * H)).toEqual({ availability: 0.75, downSeconds: 300, knownSeconds: 1200 });
  });

  it('marks exactly the time inside the windows, keeping order and length (property)', () => {
    const state = fc.constantFrom<StateSpan['state']>('UP', 'DOWN', 'DEGRADED', 'UNKNOWN');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 100 }), state), { maxLength: 10 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 50 })), { maxLength: 4 }),
        (changes, windows) => {
          const spans = spansFrom('UP', 0, changes.map(([m, to]) => ({ atMs: m * 60_000, to })).sort((a, b) => a.atMs - b.atMs), 100 * 60_000);
          const ws = windows.map(([m, len]) => ({ fromMs: m * 60_000, toMs: (m + len) * 60_000 }));
          const marked = withMaintenance(spans, ws);
          const length = (list: StateSpan[]) => list.reduce((n, x) => n + x.toMs - x.fromMs, 0);
          expect(length(marked)).toBe(length(spans));
          marked.forEach((x, i) => i > 0 && expect(x.fromMs).toBe(marked[i - 1].toMs));
          // Each minute is maintenance exactly when some window covers it, else in its original state.
          for (let m = 0; m < 100; m++) {
            const at = m * 60_000 + 1;
            const got = marked.find((x) => x.fromMs <= at && at < x.toMs)?.state;
            const inside = ws.some((w) => w.fromMs <= at && at < w.toMs);
            expect(got).toBe(inside ? 'MAINTENANCE' : spans.find((x) => x.fromMs <= at && at < x.toMs)?.state);
          }
        },
      ),
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

  it('multiplies in sequence and combines in parallel: 99.9 % and 99.9 % give 99.8 % and 99.9999 %', () => {
    expect(composeAvailability(1, [[0.999], [0.999]])).toBeCloseTo(0.998001, 9);
    expect(composeAvailability(1, [[0.999, 0.999]])).toBeCloseTo(0.999999, 9);
  });

  const a = fc.double({ min: 0, max: 1, noNaN: true });
  const groups = fc.array(fc.array(a, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 });

  it('never gets lower when a parallel member is added (property)', () => {
    fc.assert(
      fc.property(groups, fc.nat(), a, (gs, i, extra) => {
        const g = i % gs.length;
        const more = gs.map((members, j) => (j === g ? [...members, extra] : members));
        expect(composeAvailability(1, more)).toBeGreaterThanOrEqual(composeAvailability(1, gs) - 1e-12);
      }),
    );
  });

  it('never gets higher when a group is added in sequence (property)', () => {
    fc.assert(fc.property(groups, fc.array(a, { minLength: 1, maxLength: 4 }), (gs, extra) => expect(composeAvailability(1, [...gs, extra])).toBeLessThanOrEqual(composeAvailability(1, gs) + 1e-12)));
  });
});

describe('availability per UTC day', () => {
  // 2026-03-01T00:00:00Z
  const start = Date.UTC(2026, 2, 1);

  it('splits a DOWN span crossing midnight between the two days', () => {
    // UP from the start; DOWN from 22:00 on day 1 to 02:00 on day 2; UP again.
    const spans = spansFrom('UP', start, [{ atMs: start + 22 * H, to: 'DOWN' }, { atMs: start + D + 2 * H, to: 'UP' }], start + 3 * D);
    expect(dailyAvailability(spans, start, 3)).toEqual([
      { date: '2026-03-01', availability: 1 - 2 / 24, downSeconds: 7200, knownSeconds: 86_400 },
      { date: '2026-03-02', availability: 1 - 2 / 24, downSeconds: 7200, knownSeconds: 86_400 },
      { date: '2026-03-03', availability: 1, downSeconds: 0, knownSeconds: 86_400 },
    ]);
  });

  it('gives null for a day with nothing known, DEGRADED counts as up, UNKNOWN is left out', () => {
    // Day 1 UNKNOWN throughout; day 2: 12 h UNKNOWN, 6 h DEGRADED, 6 h DOWN.
    const spans = spansFrom('UNKNOWN', start, [{ atMs: start + D + 12 * H, to: 'DEGRADED' }, { atMs: start + D + 18 * H, to: 'DOWN' }], start + 2 * D);
    const days = dailyAvailability(spans, start, 2);
    expect(days[0]).toEqual({ date: '2026-03-01', availability: null, downSeconds: 0, knownSeconds: 0 });
    expect(days[1]).toEqual({ date: '2026-03-02', availability: 0.5, downSeconds: 6 * 3600, knownSeconds: 12 * 3600 });
  });

  it('judges the last day (today) on its time so far, and days before the history as unknown', () => {
    // History starts on day 2 (created then) and stops at 06:00 on day 3 ("now"), down for the last hour.
    const now = start + 2 * D + 6 * H;
    const spans = spansFrom('UNKNOWN', start, [{ atMs: start + D, to: 'UP' }, { atMs: now - H, to: 'DOWN' }], now);
    const days = dailyAvailability(spans, start, 3);
    expect(days.map((d) => d.availability)).toEqual([null, 1, 5 / 6]);
    expect(days[2]).toMatchObject({ date: '2026-03-03', downSeconds: 3600, knownSeconds: 6 * 3600 });
  });

  it('adds up to the availability over the whole range (property)', () => {
    const state = fc.constantFrom('UP' as const, 'DEGRADED' as const, 'DOWN' as const, 'UNKNOWN' as const);
    fc.assert(
      fc.property(state, fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 10 * D }), to: state }), { maxLength: 40 }), fc.integer({ min: 1, max: 10 * D }), (initial, ts, end) => {
        const spans = spansFrom(initial, start, [...ts].sort((a, b) => a.atMs - b.atMs).map((t) => ({ atMs: start + t.atMs, to: t.to })), start + end);
        const days = dailyAvailability(spans, start, 10);
        const whole = availabilityOver(spans, start, start + 10 * D);
        expect(days).toHaveLength(10);
        expect(days.reduce((n, d) => n + d.downSeconds, 0)).toBeCloseTo(whole.downSeconds, 6);
        expect(days.reduce((n, d) => n + d.knownSeconds, 0)).toBeCloseTo(whole.knownSeconds, 6);
      }),
    );
  });

  it('starts a range of n days at UTC midnight n - 1 days before today', () => {
    expect(utcDaysStart(start + 2 * D + 5 * H, 3)).toBe(start);
    expect(utcDaysStart(start, 1)).toBe(start);
    expect(new Date(utcDaysStart(Date.UTC(2026, 2, 31, 23, 59), 90)).toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});
