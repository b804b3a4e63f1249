import fc from 'fast-check';
import {
  DEFAULT_PHI_OPTIONS,
  emptyStats,
  type InterArrivalStats,
  phi,
  PHI_MAX,
  type PhiOptions,
  recordArrival,
  suspectAtMs,
} from './phi-accrual.js';

const OPTS: PhiOptions = { ...DEFAULT_PHI_OPTIONS, firstIntervalMs: 1_000 };

/** Feeds heartbeats at the given times, in order. */
function feed(times: readonly number[], opts: PhiOptions = OPTS, from: InterArrivalStats = emptyStats()): InterArrivalStats {
  return times.reduce((s, t) => recordArrival(s, t, opts), from);
}

/** Heartbeats every `gapMs` from `startMs`, `n` of them. */
function regular(n: number, gapMs: number, startMs = 0): number[] {
  return Array.from({ length: n }, (_, i) => startMs + i * gapMs);
}

function lastOf(s: InterArrivalStats): number {
  if (s.lastMs === null) throw new Error('no heartbeat');
  return s.lastMs;
}

function suspectAfter(s: InterArrivalStats, opts: PhiOptions = OPTS): number {
  const at = suspectAtMs(s, opts);
  if (at === null) throw new Error('no heartbeat');
  return at - lastOf(s);
}

describe('phi-accrual failure detector', () => {
  it('has Akka-like defaults and starts with no heartbeat: phi 0, no deadline', () => {
    expect(DEFAULT_PHI_OPTIONS).toEqual({ threshold: 8, minStdDeviationMs: 500, acceptablePauseMs: 0, weight: 0.1, minSamples: 3 });
    const s = emptyStats();
    expect(s).toEqual({ count: 0, meanMs: 0, varianceMs2: 0, lastMs: null });
    expect(phi(s, 1e12, OPTS)).toBe(0);
    expect(suspectAtMs(s, OPTS)).toBeNull();
  });

  it('suspects regular 1 s heartbeats a little over 1 s after the last one, phi rising with silence', () => {
    const s = feed(regular(31, 1_000));
    expect(s).toMatchObject({ count: 30, meanMs: 1_000, varianceMs2: 0, lastMs: 30_000 });
    // Default std dev floor 500 ms: mean + ~5.2 σ for phi 8.
    expect(suspectAfter(s)).toBe(3_613);
    // With a tighter floor the deadline hugs the 1 s rhythm.
    const tight = { ...OPTS, minStdDeviationMs: 100 };
    const after = suspectAfter(s, tight);
    expect(after).toBeGreaterThan(1_000);
    expect(after).toBeLessThan(1_600);

    expect(phi(s, 30_000, OPTS)).toBeLessThan(0.1);
    expect(phi(s, 31_000, OPTS)).toBeCloseTo(Math.log10(2), 10); // at the mean: even odds
    let prev = -1;
    for (let t = 30_000; t <= 40_000; t += 250) {
      const p = phi(s, t, OPTS);
      expect(p).toBeGreaterThan(prev);
      prev = p;
    }
    expect(phi(s, 33_612, OPTS)).toBeLessThan(8);
    expect(phi(s, 33_613, OPTS)).toBeGreaterThanOrEqual(8);
  });

  it('bootstraps from firstIntervalMs (std dev a quarter of it) until minSamples gaps are known', () => {
    const opts = { ...OPTS, firstIntervalMs: 10_000 };
    const first = feed([5_000], opts);
    expect(first).toEqual({ count: 0, meanMs: 0, varianceMs2: 0, lastMs: 5_000 });
    // mean 10 s, σ 2.5 s → phi 8 at ~10 + 5.2 × 2.5 s.
    expect(suspectAfter(first, opts)).toBe(23_065);
    // Two quick 1 s gaps are not yet trusted...
    const two = feed([6_000, 7_000], opts, first);
    expect(two.count).toBe(2);
    expect(suspectAfter(two, opts)).toBe(23_065);
    // ...the third is, and the learnt rhythm takes over.
    const three = feed([8_000], opts, two);
    expect(three).toMatchObject({ count: 3, meanMs: 1_000, varianceMs2: 0 });
    expect(suspectAfter(three, opts)).toBe(3_613);
  });

  it('uses the plain mean and variance while warming up, then weighs new gaps by `weight`', () => {
    const s = feed([0, 1_000, 3_000, 6_000], { ...OPTS, firstIntervalMs: 2_000 }); // gaps 1, 2, 3 s
    expect(s.count).toBe(3);
    expect(s.meanMs).toBeCloseTo(2_000, 9);
    expect(s.varianceMs2).toBeCloseTo(((1_000 ** 2 + 0 + 1_000 ** 2) / 3), 6); // population variance
    const long = feed(regular(200, 1_000));
    const next = recordArrival(long, lastOf(long) + 2_000, OPTS);
    expect(next.meanMs).toBeCloseTo(1_100, 9); // 0.9 × 1000 + 0.1 × 2000
  });

  it('gives jittery senders more slack than regular ones', () => {
    const regularStats = feed(regular(41, 1_000));
    // Gaps alternating 300 ms and 1700 ms: the same 1 s mean, σ 700 ms.
    const jittery = feed(Array.from({ length: 41 }, (_, i) => i * 1_000 + (i % 2 === 0 ? 0 : -700)));
    expect(jittery.meanMs).toBeGreaterThan(900);
    expect(jittery.meanMs).toBeLessThan(1_100);
    expect(Math.sqrt(jittery.varianceMs2)).toBeGreaterThan(600);
    expect(suspectAfter(jittery)).toBeGreaterThan(suspectAfter(regularStats) + 500);
    expect(phi(jittery, lastOf(jittery) + 3_000, OPTS)).toBeLessThan(phi(regularStats, lastOf(regularStats) + 3_000, OPTS));
  });

  it('adds acceptablePauseMs to the mean', () => {
    const s = feed(regular(31, 1_000));
    expect(suspectAfter(s, { ...OPTS, acceptablePauseMs: 2_000 })).toBe(suspectAfter(s) + 2_000);
  });

  it('ignores out-of-order and same-millisecond heartbeats, returning the stats unchanged', () => {
    const s = feed(regular(10, 1_000));
    expect(recordArrival(s, 8_500, OPTS)).toBe(s);
    expect(recordArrival(s, 9_000, OPTS)).toBe(s);
    expect(recordArrival(s, Number.NaN, OPTS)).toBe(s);
  });

  it('does not change its input', () => {
    const s = Object.freeze(feed(regular(10, 1_000)));
    const copy = { ...s };
    const next = recordArrival(s, 10_000, OPTS);
    expect(s).toEqual(copy);
    expect(next).not.toBe(s);
    expect(next.count).toBe(s.count + 1);
  });

  it('adapts after a long pause without being blinded by it', () => {
    const before = feed(regular(31, 1_000));
    const horizon = suspectAfter(before);
    const after = recordArrival(before, 30_000 + 3_600_000, OPTS); // an hour of silence, then back
    // The mean grows, but the gap counts only up to the suspicion horizon, not as an hour.
    expect(after.meanMs).toBeGreaterThan(before.meanMs);
    expect(after.meanMs).toBeCloseTo(0.9 * 1_000 + 0.1 * horizon, 0);
    expect(suspectAfter(after)).toBeLessThan(2 * horizon);
    // Back to 1 s beats: within ~20 beats the detector is nearly as sharp as before.
    const recovered = feed(regular(20, 1_000, lastOf(after) + 1_000), OPTS, after);
    expect(suspectAfter(recovered)).toBeLessThan(horizon + 200);
  });

  it('learns a genuine slowdown within a couple of beats', () => {
    let s = feed(regular(31, 1_000));
    const late: boolean[] = [];
    for (let t = 35_000; t <= 80_000; t += 5_000) {
      late.push(t >= (suspectAtMs(s, OPTS) ?? Infinity));
      s = recordArrival(s, t, OPTS);
    }
    // Only the first 5 s gap comes after the deadline; after that the detector expects them.
    expect(late).toEqual([true, false, false, false, false, false, false, false, false, false]);
    expect(s.meanMs).toBeGreaterThan(2_500);
  });

  it('caps phi and the deadline at finite values for absurd silences and thresholds', () => {
    const s = feed(regular(31, 1_000));
    expect(phi(s, Number.MAX_VALUE, OPTS)).toBe(PHI_MAX);
    expect(phi(s, Infinity, OPTS)).toBe(PHI_MAX);
    expect(phi(s, -Infinity, OPTS)).toBe(phi(s, lastOf(s), OPTS));
    const atMax = suspectAtMs(s, { ...OPTS, threshold: PHI_MAX });
    expect(suspectAtMs(s, { ...OPTS, threshold: 1e12 })).toBe(atMax);
    expect(Number.isFinite(atMax)).toBe(true);
    expect(phi(s, atMax!, OPTS)).toBe(PHI_MAX);
    expect(phi(s, atMax! - 1, OPTS)).toBeLessThan(PHI_MAX);
    // A threshold already met at the last heartbeat (phi there is at most log10 2) suspects at once.
    expect(suspectAtMs(s, { ...OPTS, threshold: 0 })).toBe(lastOf(s));
  });

  it('survives a JSON round trip (it is stored in Redis)', () => {
    for (const s of [emptyStats(), feed([1_700_000_000_000]), feed(regular(25, 1_337, 1_700_000_000_000))]) {
      const back = JSON.parse(JSON.stringify(s)) as InterArrivalStats;
      expect(back).toEqual(s);
      expect(suspectAtMs(back, OPTS)).toBe(suspectAtMs(s, OPTS));
      expect(phi(back, 1_700_000_040_000, OPTS)).toBe(phi(s, 1_700_000_040_000, OPTS));
      const t = (s.lastMs ?? 0) + 1_000;
      expect(recordArrival(back, t, OPTS)).toEqual(recordArrival(s, t, OPTS));
    }
  });

  // --- properties -----------------------------------------------------------

  const options: fc.Arbitrary<PhiOptions> = fc.record({
    threshold: fc.double({ min: 1, max: 16, noNaN: true }),
    minStdDeviationMs: fc.integer({ min: 1, max: 2_000 }),
    acceptablePauseMs: fc.integer({ min: 0, max: 10_000 }),
    firstIntervalMs: fc.integer({ min: 100, max: 60_000 }),
    weight: fc.double({ min: 0.01, max: 1, noNaN: true }),
    minSamples: fc.integer({ min: 0, max: 5 }),
  });

  /** Realistic heartbeat times: epoch-like start, mostly steady gaps with jitter, duplicates, reordering and outages. */
  const arrivals: fc.Arbitrary<number[]> = fc
    .tuple(
      fc.integer({ min: 0, max: 2_000_000_000_000 }),
      fc.array(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 20_000 }) }, fc.integer({ min: -5_000, max: 0 }), fc.integer({ min: 0, max: 100_000_000 })), {
        maxLength: 40,
      }),
    )
    .map(([start, gaps]) => {
      const times = [start];
      for (const g of gaps) times.push(times[times.length - 1] + g);
      return times;
    });

  it('phi is non-decreasing in nowMs (property)', () => {
    fc.assert(
      fc.property(arrivals, options, fc.integer({ min: -10_000, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), (times, opts, a, b) => {
        const s = feed(times, opts);
        const t0 = lastOf(s) + a;
        expect(phi(s, t0 + b, opts)).toBeGreaterThanOrEqual(phi(s, t0, opts));
      }),
      { numRuns: 1_000 },
    );
  });

  it('suspectAtMs agrees with phi to the millisecond (property)', () => {
    fc.assert(
      fc.property(arrivals, options, (times, opts) => {
        const s = feed(times, opts);
        const at = suspectAtMs(s, opts);
        expect(at).not.toBeNull();
        expect(Number.isInteger(at)).toBe(true);
        expect(at!).toBeGreaterThan(lastOf(s));
        expect(phi(s, at! - 1, opts)).toBeLessThan(opts.threshold);
        expect(phi(s, at!, opts)).toBeGreaterThanOrEqual(opts.threshold);
      }),
      { numRuns: 1_000 },
    );
  });

  it('a higher threshold never suspects earlier (property)', () => {
    fc.assert(
      fc.property(arrivals, options, fc.double({ min: 1, max: 16, noNaN: true }), (times, opts, other) => {
        const s = feed(times, opts);
        const [lo, hi] = opts.threshold <= other ? [opts.threshold, other] : [other, opts.threshold];
        expect(suspectAtMs(s, { ...opts, threshold: hi })!).toBeGreaterThanOrEqual(suspectAtMs(s, { ...opts, threshold: lo })!);
      }),
      { numRuns: 1_000 },
    );
  });

  it('stats, phi and the deadline stay finite for any finite input (property)', () => {
    const anyTime = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: -1e15, max: 1e15 }),
      fc.constantFrom(0, 1, -1, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER),
    ).map((t) => t + 0); // -0 is no time anyone sends, and JSON cannot keep it (the round trip below would differ)
    // Runs of equal timestamps, then arbitrary jumps.
    const times = fc.array(fc.tuple(anyTime, fc.integer({ min: 1, max: 3 })), { maxLength: 30 }).map((xs) => xs.flatMap(([t, n]) => Array<number>(n).fill(t)));
    fc.assert(
      fc.property(times, options, anyTime, (ts, opts, probe) => {
        let s = emptyStats();
        for (const t of ts) {
          s = recordArrival(s, t, opts);
          expect(Number.isFinite(s.count) && Number.isFinite(s.meanMs) && Number.isFinite(s.varianceMs2)).toBe(true);
          expect(s.varianceMs2).toBeGreaterThanOrEqual(0);
          expect(s.meanMs).toBeGreaterThanOrEqual(0);
          expect(s.lastMs === null || Number.isFinite(s.lastMs)).toBe(true);
        }
        const p = phi(s, probe, opts);
        expect(Number.isFinite(p) && p >= 0 && p <= PHI_MAX).toBe(true);
        const at = suspectAtMs(s, opts);
        expect(at === null || Number.isFinite(at)).toBe(true);
        expect(JSON.parse(JSON.stringify(s))).toEqual(s);
      }),
      { numRuns: 1_000 },
    );
  });
});
