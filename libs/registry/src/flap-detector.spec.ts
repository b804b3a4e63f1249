import fc from 'fast-check';
import {
  DEFAULT_FLAP_OPTIONS,
  emptyFlapState,
  evaluateFlapping,
  type FlapOptions,
  type FlapState,
  nextFlapCheckMs,
  recordChange,
} from './flap-detector.js';

const MIN = 60_000;
const OPTS = DEFAULT_FLAP_OPTIONS;

function changes(times: readonly number[], opts: FlapOptions = OPTS, from: FlapState = emptyFlapState()): FlapState {
  return times.reduce((s, t) => recordChange(s, t, opts), from);
}

/** Freezes a state deeply, so any mutation throws in strict mode. */
function frozen(s: FlapState): FlapState {
  Object.freeze(s.changesMs);
  return Object.freeze(s);
}

describe('flap detector', () => {
  it('defaults to more than 5 changes in 10 minutes', () => {
    expect(DEFAULT_FLAP_OPTIONS).toEqual({ maxChanges: 5, windowMs: 10 * MIN });
    expect(emptyFlapState()).toEqual({ changesMs: [], flapping: false, sinceMs: null });
  });

  it('flags 6 changes within 10 minutes, from the 6th change on', () => {
    const five = changes([0, 1, 2, 3, 4].map((m) => m * MIN));
    expect(five.flapping).toBe(false);
    expect(five.sinceMs).toBeNull();
    const six = recordChange(five, 9 * MIN, OPTS);
    expect(six).toEqual({ changesMs: [0, 1, 2, 3, 4, 9].map((m) => m * MIN), flapping: true, sinceMs: 9 * MIN });
  });

  it('does not flag 5 changes, nor 6 spread over more than 10 minutes', () => {
    expect(changes([0, 1, 2, 3, 4].map((m) => m * 10_000)).flapping).toBe(false);
    // 0..10 min: the change at 0 has left the window when the 6th comes at exactly 10 min.
    const spread = changes([0, 2, 4, 6, 8, 10].map((m) => m * MIN));
    expect(spread.flapping).toBe(false);
    expect(spread.changesMs).toEqual([2, 4, 6, 8, 10].map((m) => m * MIN));
    expect(changes([0, 2, 4, 6, 8, 10].map((m) => m * MIN - 1)).flapping).toBe(false);
    expect(changes([0, 2, 4, 6, 8].map((m) => m * MIN).concat(10 * MIN - 1)).flapping).toBe(true);
  });

  it('clears the flag only when the changes in the window fall to maxChanges / 2 (hysteresis)', () => {
    // 8 changes, one a minute, 0..7 min: flapping since the 6th (5 min).
    let s = changes([0, 1, 2, 3, 4, 5, 6, 7].map((m) => m * MIN));
    expect(s).toMatchObject({ flapping: true, sinceMs: 5 * MIN });
    expect(s.changesMs).toHaveLength(6); // bounded: maxChanges + 1

    // At 13 min only the changes at 4..7 min are in the window: 4, no longer above 5 but above 2.
    s = evaluateFlapping(s, 13 * MIN, OPTS);
    expect(s).toEqual({ changesMs: [4, 5, 6, 7].map((m) => m * MIN), flapping: true, sinceMs: 5 * MIN });
    // At 14 min the changes at 5..7 min remain: 3 > 2, still flapping.
    expect(evaluateFlapping(s, 14 * MIN, OPTS)).toMatchObject({ flapping: true, sinceMs: 5 * MIN });
    // It ends when the change at 5 min leaves the window, at 15 min, and not a millisecond earlier.
    expect(nextFlapCheckMs(s, OPTS)).toBe(15 * MIN);
    expect(evaluateFlapping(s, 15 * MIN - 1, OPTS).flapping).toBe(true);
    const cleared = evaluateFlapping(s, 15 * MIN, OPTS);
    expect(cleared).toEqual({ changesMs: [6, 7].map((m) => m * MIN), flapping: false, sinceMs: null });
    expect(nextFlapCheckMs(cleared, OPTS)).toBeNull();

    // Not flapping, 3 more changes make 5 in the window: not above the start bound, so still not flapping.
    const again = changes([1, 2, 3].map((k) => 15 * MIN + k * 1_000), OPTS, cleared);
    expect(again.changesMs).toHaveLength(5);
    expect(again.flapping).toBe(false);
    expect(recordChange(again, 15 * MIN + 4_000, OPTS)).toMatchObject({ flapping: true, sinceMs: 15 * MIN + 4_000 });
  });

  it('ends an episode on a new change after a quiet nobody swept', () => {
    const s = changes([0, 1, 2, 3, 4, 5].map((m) => m * MIN));
    expect(s.flapping).toBe(true);
    expect(recordChange(s, 60 * MIN, OPTS)).toEqual({ changesMs: [60 * MIN], flapping: false, sinceMs: null });
  });

  it('keeps sinceMs through an episode', () => {
    let s = changes([0, 1, 2, 3, 4, 5].map((m) => m * 10_000));
    expect(s.sinceMs).toBe(50_000);
    s = changes([60_000, 70_000, 80_000], OPTS, s);
    s = evaluateFlapping(s, 5 * MIN, OPTS);
    expect(s).toMatchObject({ flapping: true, sinceMs: 50_000 });
  });

  it('returns the same state from evaluateFlapping when nothing changed', () => {
    const s = changes([0, 1, 2].map((m) => m * MIN));
    expect(evaluateFlapping(s, 5 * MIN, OPTS)).toBe(s);
    expect(evaluateFlapping(emptyFlapState(), 5 * MIN, OPTS)).toEqual(emptyFlapState());
    const aged = evaluateFlapping(s, 11 * MIN, OPTS);
    expect(aged).not.toBe(s);
    expect(aged.changesMs).toEqual([2 * MIN]);
  });

  it('places an out-of-order change in time order and judges at the newest time', () => {
    const s = changes([0, 1, 2, 3, 5].map((m) => m * MIN));
    const late = recordChange(s, 4 * MIN, OPTS);
    expect(late).toEqual({ changesMs: [0, 1, 2, 3, 4, 5].map((m) => m * MIN), flapping: true, sinceMs: 5 * MIN });
    // Evaluating "before" the newest change counts it as now.
    expect(evaluateFlapping(late, 0, OPTS)).toBe(late);
  });

  it('does not mutate its input', () => {
    const s = frozen(changes([0, 1, 2, 3, 4, 5].map((m) => m * MIN)));
    const copy = structuredClone(s);
    recordChange(s, 6 * MIN, OPTS);
    recordChange(s, 30 * MIN, OPTS);
    recordChange(s, 30_000, OPTS);
    evaluateFlapping(s, 20 * MIN, OPTS);
    nextFlapCheckMs(s, OPTS);
    expect(s).toEqual(copy);
  });

  it('survives a JSON round trip (it is stored in Redis)', () => {
    const s = changes([0, 1, 2, 3, 4, 5].map((m) => m * MIN + 1_700_000_000_000));
    const back = JSON.parse(JSON.stringify(s)) as FlapState;
    expect(back).toEqual(s);
    expect(recordChange(back, 1_700_000_000_000 + 7 * MIN, OPTS)).toEqual(recordChange(s, 1_700_000_000_000 + 7 * MIN, OPTS));
  });

  it('with maxChanges 0 any change is flapping until it leaves the window', () => {
    const opts = { maxChanges: 0, windowMs: MIN };
    const s = recordChange(emptyFlapState(), 1_000, opts);
    expect(s).toEqual({ changesMs: [1_000], flapping: true, sinceMs: 1_000 });
    expect(nextFlapCheckMs(s, opts)).toBe(61_000);
    expect(evaluateFlapping(s, 61_000, opts).flapping).toBe(false);
  });

  // --- properties -----------------------------------------------------------

  type Op = { kind: 'change' | 'evaluate'; afterMs: number };
  const op: fc.Arbitrary<Op> = fc.record({
    kind: fc.constantFrom('change' as const, 'change' as const, 'evaluate' as const),
    afterMs: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 3 * MIN }) }, fc.integer({ min: 0, max: 30 * MIN })),
  });
  const options: fc.Arbitrary<FlapOptions> = fc.record({ maxChanges: fc.integer({ min: 0, max: 10 }), windowMs: fc.integer({ min: 1, max: 20 * MIN }) });

  /** The same rules over the full, unbounded history. */
  function reference(ops: readonly Op[], opts: FlapOptions): { flapping: boolean; sinceMs: number | null }[] {
    const history: number[] = [];
    let flapping = false;
    let sinceMs: number | null = null;
    let t = 0;
    return ops.map((o) => {
      t += o.afterMs;
      if (o.kind === 'change') history.push(t);
      const count = history.filter((c) => t - c < opts.windowMs).length;
      const next = flapping ? count > Math.floor(opts.maxChanges / 2) : count > opts.maxChanges;
      if (next && !flapping) sinceMs = t;
      if (!next) sinceMs = null;
      flapping = next;
      return { flapping, sinceMs };
    });
  }

  function run(ops: readonly Op[], opts: FlapOptions, each: (s: FlapState, t: number, i: number) => void): void {
    let s = emptyFlapState();
    let t = 0;
    ops.forEach((o, i) => {
      t += o.afterMs;
      s = o.kind === 'change' ? recordChange(s, t, opts) : evaluateFlapping(s, t, opts);
      each(s, t, i);
    });
  }

  it('agrees with an unbounded history while keeping at most maxChanges + 1 changes (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), options, (ops, opts) => {
        const expected = reference(ops, opts);
        run(ops, opts, (s, t, i) => {
          expect({ flapping: s.flapping, sinceMs: s.sinceMs }).toEqual(expected[i]);
          expect(s.changesMs.length).toBeLessThanOrEqual(opts.maxChanges + 1);
          expect(s.changesMs.every((c, j) => t - c < opts.windowMs && (j === 0 || s.changesMs[j - 1] <= c))).toBe(true);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('bounds memory over long sequences (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 500, maxLength: 2_000 }), options, (gaps, opts) => {
        let s = emptyFlapState();
        let t = 0;
        for (const g of gaps) {
          t += g;
          s = recordChange(s, t, opts);
          expect(s.changesMs.length).toBeLessThanOrEqual(opts.maxChanges + 1);
        }
        expect(JSON.stringify(s).length).toBeLessThan(300);
      }),
      { numRuns: 50 },
    );
  });

  it('nextFlapCheckMs is exactly when evaluateFlapping would flip (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 100 }), options, fc.integer({ min: 0, max: 60 * MIN }), (ops, opts, probe) => {
        run(ops, opts, (s, t) => {
          const next = nextFlapCheckMs(s, opts);
          if (!s.flapping) {
            expect(next).toBeNull();
            expect(evaluateFlapping(s, t + probe, opts).flapping).toBe(false);
            return;
          }
          expect(next).not.toBeNull();
          expect(next!).toBeGreaterThan(t);
          expect(evaluateFlapping(s, next! - 1, opts).flapping).toBe(true);
          expect(evaluateFlapping(s, next!, opts).flapping).toBe(false);
          expect(evaluateFlapping(s, Math.min(t + probe, next! - 1), opts).flapping).toBe(true);
        });
      }),
      { numRuns: 500 },
    );
  });
});
