import fc from 'fast-check';
import { applyDeadline, applyHeartbeat, type InstanceRecord, newRecord, postpone, timings, wantsProbe } from './instance-state.js';

const T = timings(10); // ttl 30 s, grace 10 s

function heartbeat(rec: InstanceRecord, atMs: number, status: 'up' | 'degraded' | 'down' = 'up') {
  return applyHeartbeat(rec, { receivedMs: atMs, status });
}

describe('instance state machine', () => {
  it('defaults ttl to 3 × interval and grace to one interval', () => {
    expect(timings(10)).toEqual({ ttlMs: 30_000, graceMs: 10_000 });
    expect(timings(5, 12, 3)).toEqual({ ttlMs: 12_000, graceMs: 3_000 });
  });

  it('goes UNKNOWN → UP on the first heartbeat and schedules suspicion at the end of the ttl', () => {
    const { record, transition } = heartbeat(newRecord(0, T), 1_000);
    expect(transition).toEqual({ from: 'UNKNOWN', to: 'UP', atMs: 1_000, reason: 'first heartbeat' });
    expect(record).toMatchObject({ state: 'UP', lastSeenMs: 1_000, deadlineMs: 31_000, status: 'up' });
  });

  it('goes UP → SUSPECT after ttl of silence, → DOWN after grace, → UP on the next heartbeat', () => {
    let r = heartbeat(newRecord(0, T), 0).record;
    expect(applyDeadline(r, 29_999).transition).toBeNull();

    const suspect = applyDeadline(r, 30_000);
    expect(suspect.transition).toMatchObject({ from: 'UP', to: 'SUSPECT', atMs: 30_000 });
    expect(suspect.transition?.reason).toBe('no heartbeat for 30s (ttl 30s)');
    r = suspect.record;
    expect(r.deadlineMs).toBe(40_000);
    expect(applyDeadline(r, 39_999).transition).toBeNull();

    const down = applyDeadline(r, 40_000);
    expect(down.transition).toMatchObject({ from: 'SUSPECT', to: 'DOWN', reason: 'no heartbeat for 40s (ttl 30s + grace 10s)' });
    r = down.record;
    expect(r.deadlineMs).toBe(0);
    expect(applyDeadline(r, 1e9).changed).toBe(false);

    const back = heartbeat(r, 50_000);
    expect(back.transition).toMatchObject({ from: 'DOWN', to: 'UP', atMs: 50_000 });
    expect(back.record.deadlineMs).toBe(80_000);
  });

  it('takes a SUSPECT instance back to UP on a heartbeat, naming the silence', () => {
    const r = applyDeadline(heartbeat(newRecord(0, T), 0).record, 30_000).record;
    const back = heartbeat(r, 35_000);
    expect(back.transition).toEqual({ from: 'SUSPECT', to: 'UP', atMs: 35_000, reason: 'heartbeat received after 35s of silence' });
  });

  it('marks an instance DOWN at once when it reports itself down, and UP when it reports up', () => {
    const up = heartbeat(newRecord(0, T), 0).record;
    const down = heartbeat(up, 1_000, 'down');
    expect(down.transition).toMatchObject({ from: 'UP', to: 'DOWN', reason: 'the instance reported itself down' });
    expect(down.record.deadlineMs).toBe(0);
    const again = heartbeat(down.record, 2_000);
    expect(again.transition).toMatchObject({ from: 'DOWN', to: 'UP', reason: 'the instance reported itself up again' });
  });

  it('says why, when the heartbeat that reports it down says so', () => {
    const up = heartbeat(newRecord(0, T), 0).record;
    const down = applyHeartbeat(up, { receivedMs: 1_000, status: 'down', reason: 'http://127.0.0.1:18080/: ECONNREFUSED' });
    expect(down.transition?.reason).toBe('the instance reported itself down: http://127.0.0.1:18080/: ECONNREFUSED');
    expect(down.record.reason).toBe(down.transition?.reason);
  });

  it('keeps a degraded instance UP and reports the status change', () => {
    const up = heartbeat(newRecord(0, T), 0).record;
    const degraded = heartbeat(up, 1_000, 'degraded');
    expect(degraded.transition).toBeNull();
    expect(degraded.changed).toBe(true);
    expect(degraded.record).toMatchObject({ state: 'UP', status: 'degraded' });
    // A plain refresh is not a change worth writing through.
    expect(heartbeat(degraded.record, 2_000, 'degraded').changed).toBe(false);
  });

  it('ignores a heartbeat older than the last one seen', () => {
    const r = heartbeat(newRecord(0, T), 5_000).record;
    const old = heartbeat(r, 4_000, 'down');
    expect(old.record).toBe(r);
    expect(old.changed).toBe(false);
    // The same heartbeat again (a redelivered stream entry) changes nothing either.
    const again = heartbeat(r, 5_000);
    expect(again.transition).toBeNull();
    expect(again.changed).toBe(false);
  });

  it('ignores a deadline that a later heartbeat moved', () => {
    let r = heartbeat(newRecord(0, T), 0).record;
    r = heartbeat(r, 20_000).record;
    expect(applyDeadline(r, 30_000).transition).toBeNull();
  });

  it('postpones a deadline by a gap without judging the instance', () => {
    const r = heartbeat(newRecord(0, T), 0).record;
    const p = postpone(r, 7_000);
    expect(p.record.deadlineMs).toBe(37_000);
    expect(p.transition).toBeNull();
    expect(applyDeadline(p.record, 36_999).transition).toBeNull();
  });

  it('re-arms the deadline when timings grew since it was set', () => {
    let r = heartbeat(newRecord(0, T), 0).record;
    r = { ...r, ttlMs: 60_000 };
    const s = applyDeadline(r, 30_000);
    expect(s.transition).toBeNull();
    expect(s.record.deadlineMs).toBe(60_000);
  });

  describe('quorum confirmation by probers', () => {
    // UP at 0, SUSPECT at 30 s, grace out at 40 s.
    const suspectAtGraceEnd = () => applyDeadline(heartbeat(newRecord(0, T), 0).record, 30_000).record;

    it('starts a probe round instead of going DOWN when probers can look', () => {
      const r = suspectAtGraceEnd();
      expect(wantsProbe(r, 39_999)).toBe(false);
      expect(wantsProbe(r, 40_000)).toBe(true);
      const s = applyDeadline(r, 40_000, { startProbe: { roundId: 'r1', windowMs: 5_000 } });
      expect(s.transition).toBeNull();
      expect(s.record).toMatchObject({ state: 'SUSPECT', probe: 'r1', deadlineMs: 45_000 });
      expect(wantsProbe(s.record, 45_000)).toBe(false);
    });

    it('goes DOWN when a majority of the probers that answered cannot reach it', () => {
      const probing = applyDeadline(suspectAtGraceEnd(), 40_000, { startProbe: { roundId: 'r1', windowMs: 5_000 } }).record;
      const s = applyDeadline(probing, 45_000, { probeResults: [{ reachable: false }, { reachable: false }, { reachable: true }] });
      expect(s.transition).toMatchObject({ from: 'SUSPECT', to: 'DOWN', reason: 'no heartbeat for 45s; unreachable from 2 of 3 probers' });
      expect(s.record.probe).toBeNull();
    });

    it('stays SUSPECT as partitioned when a majority (or half) reach it, and looks again after a ttl', () => {
      const probing = applyDeadline(suspectAtGraceEnd(), 40_000, { startProbe: { roundId: 'r1', windowMs: 5_000 } }).record;
      for (const answers of [[{ reachable: true }, { reachable: false }], [{ reachable: true }, { reachable: true }, { reachable: false }]]) {
        const s = applyDeadline(probing, 45_000, { probeResults: answers });
        expect(s.record.state).toBe('SUSPECT');
        expect(s.record.partitioned).toBe(true);
        expect(s.record.reason).toMatch(/^heartbeat path broken; reachable from probers/);
        expect(s.transition).toMatchObject({ from: 'SUSPECT', to: 'SUSPECT' });
        expect(s.record.deadlineMs).toBe(75_000);
        // Still partitioned at the next round: no second announcement.
        const again = applyDeadline(applyDeadline(s.record, 75_000, { startProbe: { roundId: 'r2', windowMs: 5_000 } }).record, 80_000, { probeResults: answers });
        expect(again.transition).toBeNull();
        expect(again.record.partitioned).toBe(true);
        // A heartbeat ends it.
        const back = heartbeat(again.record, 81_000);
        expect(back.record).toMatchObject({ state: 'UP', partitioned: false, probe: null });
      }
    });

    it('goes DOWN when no prober answers in time, or when none is left to re-confirm a partition', () => {
      const probing = applyDeadline(suspectAtGraceEnd(), 40_000, { startProbe: { roundId: 'r1', windowMs: 5_000 } }).record;
      expect(applyDeadline(probing, 45_000, { probeResults: [] }).transition).toMatchObject({ to: 'DOWN', reason: 'no heartbeat for 45s; no prober answered in time' });
      const partitioned = applyDeadline(probing, 45_000, { probeResults: [{ reachable: true }] }).record;
      expect(applyDeadline(partitioned, 75_000).transition).toMatchObject({ to: 'DOWN', reason: 'no heartbeat for 75s; no prober left to confirm it is reachable' });
    });
  });

  describe('gossip evidence when no prober settles it', () => {
    const suspectAtGraceEnd = () => applyDeadline(heartbeat(newRecord(0, T), 0).record, 30_000).record;
    it('stays SUSPECT (partitioned) while most of its gossip peers see it alive, and goes DOWN once they do not', () => {
      const suspect = suspectAtGraceEnd();
      const held = applyDeadline(suspect, 40_000, { gossip: { alive: 2, reporters: 3 } });
      expect(held.transition).toEqual({ from: 'SUSPECT', to: 'SUSPECT', atMs: 40_000, reason: 'heartbeat path broken; alive according to its gossip peers (2 of 3)' });
      expect(held.record).toMatchObject({ state: 'SUSPECT', partitioned: true, deadlineMs: 70_000 });
      // Still so a ttl later: no new transition.
      expect(applyDeadline(held.record, 70_000, { gossip: { alive: 3, reporters: 3 } })).toMatchObject({ transition: null, record: { state: 'SUSPECT', partitioned: true } });
      // The peers now see it dead (or half of them do: no majority): DOWN.
      expect(applyDeadline(held.record, 70_000, { gossip: { alive: 1, reporters: 2 } }).transition).toMatchObject({ to: 'DOWN' });
      expect(applyDeadline(held.record, 70_000).transition).toMatchObject({ to: 'DOWN' });
    });

    it('is asked only when probers did not decide: a prober majority that cannot reach it still takes it DOWN', () => {
      const probing = applyDeadline(suspectAtGraceEnd(), 40_000, { startProbe: { roundId: 'r1', windowMs: 5_000 } }).record;
      expect(applyDeadline(probing, 45_000, { probeResults: [], gossip: { alive: 2, reporters: 2 } }).record).toMatchObject({ state: 'SUSPECT', partitioned: true });
      expect(applyDeadline(probing, 45_000, { probeResults: [{ reachable: false }], gossip: { alive: 2, reporters: 2 } }).transition).toMatchObject({ to: 'DOWN' });
    });
  });

  describe('properties', () => {
    const intervalS = fc.integer({ min: 1, max: 60 });

    it('never leaves UP while heartbeats arrive within the ttl, whenever the sweep looks', () => {
      fc.assert(
        fc.property(
          intervalS,
          fc.array(fc.record({ gapFraction: fc.double({ min: 0.001, max: 0.999, noNaN: true }), sweeps: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }), status: fc.constantFrom('up' as const, 'degraded' as const) }), { minLength: 1, maxLength: 60 }),
          (interval, beats) => {
            const t = timings(interval);
            let now = 1_000;
            let r = heartbeat(newRecord(0, t), now).record;
            for (const b of beats) {
              const gap = Math.max(1, Math.floor(b.gapFraction * t.ttlMs));
              // The sweep may look at any moment before the next heartbeat arrives (never later than the ttl).
              for (const s of b.sweeps) r = applyDeadline(r, now + Math.floor(s * (gap - 1))).record;
              now += gap;
              const next = heartbeat(r, now, b.status);
              r = next.record;
              expect(r.state).toBe('UP');
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it('reaches DOWN once silent for ttl + grace, and only then', () => {
      fc.assert(
        fc.property(intervalS, fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 20 }), (interval, sweepTimes) => {
          const t = timings(interval);
          let r = heartbeat(newRecord(0, t), 0).record;
          for (const at of [...sweepTimes].sort((a, b) => a - b)) {
            // The sweep calls only when due, but calling early must be harmless.
            r = applyDeadline(r, at).record;
            if (at < t.ttlMs) expect(r.state).toBe('UP');
            if (r.state === 'DOWN') expect(at).toBeGreaterThanOrEqual(t.ttlMs + t.graceMs);
          }
          // Sweeping at every deadline until none is left ends DOWN.
          while (r.deadlineMs !== 0) r = applyDeadline(r, r.deadlineMs).record;
          expect(r.state).toBe('DOWN');
        }),
        { numRuns: 300 },
      );
    });
  });
});
