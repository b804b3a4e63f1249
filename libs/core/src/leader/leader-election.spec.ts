import { jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { LeaderElection } from './leader-election.js';

const LEASE_MS = 3000;

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function record(le: LeaderElection) {
  const events: string[] = [];
  le.on('elected', (token) => events.push(`elected:${token}`));
  le.on('revoked', () => events.push('revoked'));
  return events;
}

describe('LeaderElection without a reachable Redis', () => {
  it('never becomes leader when every call fails', async () => {
    const redis = { eval: () => Promise.reject(new Error('down')) } as unknown as Redis;
    const c = clock();
    const le = new LeaderElection(redis, { key: 'nf:leader', owner: 'me', leaseMs: LEASE_MS, now: c.now });
    const events = record(le);
    try {
      for (let i = 0; i < 3; i++) {
        await le.tick();
        c.advance(LEASE_MS);
        expect(le.isLeader).toBe(false);
        expect(le.fencingToken).toBe(0);
      }
      expect(events).toEqual([]);
      expect(le.owner).toBe('me');
    } finally {
      await le.stop();
    }
  });

  it('is leader after a successful tick, and steps down once its lease has passed without renewal', async () => {
    const evalMock = jest.fn<() => Promise<unknown>>().mockResolvedValueOnce(7).mockRejectedValue(new Error('down'));
    const redis = { eval: evalMock } as unknown as Redis;
    const c = clock();
    const le = new LeaderElection(redis, { key: 'nf:leader', owner: 'me', leaseMs: LEASE_MS, now: c.now });
    const events = record(le);
    try {
      await le.tick();
      expect(le.isLeader).toBe(true);
      expect(le.fencingToken).toBe(7);
      expect(events).toEqual(['elected:7']);

      // A failed renewal early in the lease does not end the term.
      c.advance(LEASE_MS / 6);
      await le.tick();
      expect(le.isLeader).toBe(true);
      expect(le.fencingToken).toBe(7);
      expect(events).toEqual(['elected:7']);

      // Past the lease the term is over even before the next tick notices.
      c.advance(LEASE_MS);
      expect(le.isLeader).toBe(false);
      expect(le.fencingToken).toBe(0);

      await le.tick();
      expect(events).toEqual(['elected:7', 'revoked']);
      expect(le.isLeader).toBe(false);
      expect(le.fencingToken).toBe(0);
    } finally {
      await le.stop();
    }
    expect(evalMock).toHaveBeenCalledTimes(3); // no release attempted: the term was already given up
  });
});
