import { applyBeats, flapAfter, isFlapping } from './detection.js';
import { emptyFlapState } from './flap-detector.js';
import { applyDeadline, newRecord, timings } from './instance-state.js';

const fixed = { intervalSeconds: 1, ttlSeconds: null, graceSeconds: null, detector: 'fixed' as const, phiThreshold: 8 };
const phi = { ...fixed, detector: 'phi' as const };
const beatsEvery = (ms: number, n: number, from = 1_000) => Array.from({ length: n }, (_, i) => ({ receivedMs: from + i * ms, status: 'up' as const }));

describe('detection: fixed ttl, phi-accrual and flap damping together', () => {
  it('uses 3 × interval with the fixed detector', () => {
    const out = applyBeats(newRecord(0, timings(1)), null, emptyFlapState(), beatsEvery(1000, 5), fixed);
    expect(out.record.ttlMs).toBe(3000);
    expect(out.phi).toBeNull();
    expect(out.transitions.map((t) => t.to)).toEqual(['UP']);
  });

  it('derives the ttl from the observed inter-arrival times with phi-accrual', () => {
    const regular = applyBeats(newRecord(0, timings(1)), null, emptyFlapState(), beatsEvery(1000, 30), phi);
    expect(regular.phi?.count).toBeGreaterThan(20);
    // Regular 1 s beats: suspicion a few seconds after the last one, never sooner than one interval.
    expect(regular.record.ttlMs).toBeGreaterThanOrEqual(1000);
    expect(regular.record.ttlMs).toBeLessThan(5000);
    // The instance goes SUSPECT at exactly that silence.
    const last = regular.record.lastSeenMs;
    expect(applyDeadline(regular.record, last + regular.record.ttlMs - 1).transition).toBeNull();
    expect(applyDeadline(regular.record, last + regular.record.ttlMs).transition?.to).toBe('SUSPECT');

    // Jittery beats (0.5 s / 1.5 s alternating) are given more slack than regular ones.
    const jitter = Array.from({ length: 30 }, (_, i) => ({ receivedMs: 1_000 + i * 1000 + (i % 2 ? 500 : -500), status: 'up' as const }));
    const jittery = applyBeats(newRecord(0, timings(1)), null, emptyFlapState(), jitter, phi);
    expect(jittery.record.ttlMs).toBeGreaterThan(regular.record.ttlMs);
  });

  it('marks an instance flapping after more than 5 changes in 10 minutes, and clears it after a quiet spell', () => {
    let rec = newRecord(0, timings(1));
    let flap = emptyFlapState();
    let t = 1_000;
    for (let i = 0; i < 3; i++) {
      const up = applyBeats(rec, null, flap, [{ receivedMs: t, status: 'up' }], fixed);
      const down = applyBeats(up.record, null, up.flap, [{ receivedMs: t + 1000, status: 'down' }], fixed);
      rec = down.record;
      flap = down.flap;
      t += 10_000;
    }
    // UNKNOWN→UP, UP→DOWN, DOWN→UP, UP→DOWN, DOWN→UP, UP→DOWN: 6 changes.
    expect(isFlapping(flap, t)).toBe(true);
    expect(isFlapping(flap, t + 11 * 60_000)).toBe(false);
    expect(flapAfter(flap, null, t + 11 * 60_000).flapping).toBe(false);
  });
});
