import { type NinefoldConfig, RedisService } from '#core';
import { uniqueRedisPrefix } from '../../../test/support/database.js';
import { testEnv } from '../../../test/support/env.js';
import type { InstanceRecord } from './instance-state.js';
import { InstanceStore, type Touch } from './instance-store.js';

const TTL = 3000;
const GRACE = 1000;

function up(seenMs: number, over: Partial<InstanceRecord> = {}): InstanceRecord {
  return { state: 'UP', sinceMs: 1000, reason: null, lastSeenMs: seenMs, status: 'up', deadlineMs: seenMs + TTL, ttlMs: TTL, graceMs: GRACE, probe: null, partitioned: false, ...over };
}

/**
 * The drain's fast path on a real Redis: heartbeats of instances that are UP
 * and heartbeating as before move their last-seen time and deadline in a few
 * script calls; every other instance is left alone and named, for the full
 * read-decide-compare-and-set path.
 */
describe('InstanceStore.touchMany (e2e, Redis)', () => {
  let redis: RedisService;
  let store: InstanceStore;

  beforeAll(() => {
    redis = new RedisService({ REDIS_URL: testEnv().redisUrl, NINEFOLD_REDIS_PREFIX: uniqueRedisPrefix() } as NinefoldConfig);
    store = new InstanceStore(redis);
  });

  afterAll(() => redis.onApplicationShutdown());

  it('moves plain UP instances along and names the others, across several script calls', async () => {
    const plain = Array.from({ length: 450 }, (_, i) => `plain-${i}`); // three calls of at most 200
    const others: Record<string, InstanceRecord> = {
      suspect: up(5000, { state: 'SUSPECT', deadlineMs: 9000 }),
      degraded: up(5000, { status: 'degraded' }),
      probing: up(5000, { probe: 'round-1' }),
      partitioned: up(5000, { partitioned: true }),
      'other-ttl': up(5000, { ttlMs: 30_000 }),
    };
    for (const id of plain) expect(await store.compareAndSet(id, '', up(5000))).toBe(true);
    for (const [id, rec] of Object.entries(others)) expect(await store.compareAndSet(id, '', rec)).toBe(true);
    expect(await store.compareAndSet('newer', '', up(9000))).toBe(true);
    const before = await store.load([...plain, 'newer']);

    const touch = (id: string, seenMs: number): Touch => ({ id, seenMs, status: 'up', ttlMs: TTL, graceMs: GRACE });
    const touches = [
      ...plain.slice(0, 199).map((id) => touch(id, 8000)),
      touch('suspect', 8000),
      ...plain.slice(199).map((id) => touch(id, 8000)),
      touch('degraded', 8000),
      touch('probing', 8000),
      touch('partitioned', 8000),
      touch('other-ttl', 8000),
      touch('never-seen', 8000),
      touch('newer', 8000), // older than what live state holds: nothing to do, and nothing for the full path either
    ];
    const full = await store.touchMany(touches);

    expect(full.sort()).toEqual(['degraded', 'never-seen', 'other-ttl', 'partitioned', 'probing', 'suspect']);
    const after = await store.load([...plain, ...Object.keys(others), 'newer']);
    for (const id of plain) {
      const cur = after.get(id)!;
      expect(cur.record).toEqual(up(8000));
      expect(Number(cur.version)).toBe(Number(before.get(id)!.version) + 1);
    }
    for (const [id, rec] of Object.entries(others)) expect(after.get(id)!.record).toEqual(rec);
    expect(after.get('newer')!.record).toEqual(up(9000));
    expect(after.get('newer')!.version).toBe(before.get('newer')!.version);
    expect(after.has('never-seen')).toBe(false);

    // What the sweep reads: the deadlines moved with the records.
    const due = await store.due(8000 + TTL, 10_000);
    expect(due.filter((id) => id.startsWith('plain-')).sort()).toEqual([...plain].sort());
    expect(await store.due(5000 + TTL, 10_000)).not.toContain('plain-0');
  });

  it('answers an empty list without a call', async () => {
    expect(await store.touchMany([])).toEqual([]);
  });
});
