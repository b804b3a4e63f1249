import fc from 'fast-check';
import { TtlCache } from './ttl-cache.js';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('TtlCache', () => {
  it('returns a value until its ttl has passed, then forgets it', () => {
    const c = clock();
    const cache = new TtlCache<string, number>(10, c.now);
    cache.set('a', 1, 100);
    expect(cache.get('a')).toBe(1);
    c.advance(99);
    expect(cache.get('a')).toBe(1);
    c.advance(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.get('missing')).toBeUndefined();
  });

  it('peeks at a value after it expired, saying it is stale, until get, eviction or delete removes it', () => {
    const c = clock();
    const cache = new TtlCache<string, number>(2, c.now);
    cache.set('a', 1, 100);
    expect(cache.peek('a')).toEqual({ value: 1, fresh: true });
    c.advance(100);
    expect(cache.peek('a')).toEqual({ value: 1, fresh: false });
    expect(cache.peek('a')).toEqual({ value: 1, fresh: false });
    expect(cache.get('a')).toBeUndefined();
    expect(cache.peek('a')).toBeUndefined();
    cache.set('b', 2, 10);
    cache.set('c', 3, 10);
    cache.set('d', 4, 10); // evicts b
    expect(cache.peek('b')).toBeUndefined();
    cache.delete('c');
    expect(cache.peek('c')).toBeUndefined();
    expect(cache.peek('missing')).toBeUndefined();
  });

  it('gives each entry its own ttl and restarts it on set', () => {
    const c = clock();
    const cache = new TtlCache<string, string>(10, c.now);
    cache.set('short', 's', 10);
    cache.set('long', 'l', 1000);
    c.advance(50);
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('long')).toBe('l');
    cache.set('long', 'l2', 10);
    c.advance(10);
    expect(cache.get('long')).toBeUndefined();
  });

  it('evicts the oldest inserted entry when full', () => {
    const cache = new TtlCache<string, number>(3, clock().now);
    cache.set('a', 1, 1000);
    cache.set('b', 2, 1000);
    cache.set('c', 3, 1000);
    cache.set('d', 4, 1000);
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([2, 3, 4]);
  });

  it('counts re-setting a key as a new insertion and does not evict for it', () => {
    const cache = new TtlCache<string, number>(3, clock().now);
    cache.set('a', 1, 1000);
    cache.set('b', 2, 1000);
    cache.set('c', 3, 1000);
    cache.set('a', 10, 1000); // replaces, evicts nothing, moves 'a' to the newest
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBe(2);
    cache.set('d', 4, 1000); // now 'b' is the oldest
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([10, 3, 4]);
  });

  it('delete, deleteWhere and clear remove entries', () => {
    const cache = new TtlCache<string, { user: string }>(10, clock().now);
    cache.set('k1', { user: 'ann' }, 1000);
    cache.set('k2', { user: 'bob' }, 1000);
    cache.set('k3', { user: 'ann' }, 1000);
    cache.set('k4', { user: 'cy' }, 1000);
    cache.delete('k4');
    cache.delete('nope');
    expect(cache.get('k4')).toBeUndefined();
    expect(cache.size).toBe(3);
    cache.deleteWhere((v) => v.user === 'ann');
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k3')).toBeUndefined();
    expect(cache.get('k2')).toEqual({ user: 'bob' });
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('k2')).toBeUndefined();
  });

  it('uses Date.now when no clock is given', () => {
    const cache = new TtlCache<string, number>(1);
    cache.set('a', 1, 60_000);
    expect(cache.get('a')).toBe(1);
  });

  type Op =
    | { kind: 'set'; key: number; ttl: number }
    | { kind: 'get'; key: number }
    | { kind: 'advance'; ms: number };

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 7 }), ttl: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
  );

  it('never returns an expired or stale value and never holds more than maxEntries (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(op, { maxLength: 200 }), (maxEntries, ops) => {
        const c = clock(0);
        const cache = new TtlCache<number, number>(maxEntries, c.now);
        // Every value is unique, so we know exactly which set() a returned value came from.
        const written = new Map<number, { key: number; expiresAt: number }>();
        const latest = new Map<number, number>();
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'set') {
            const value = next++;
            written.set(value, { key: o.key, expiresAt: c.now() + o.ttl });
            latest.set(o.key, value);
            cache.set(o.key, value, o.ttl);
            // Just set with a positive ttl: it must be there, unless the cache holds nothing at all.
            if (o.ttl > 0 && maxEntries > 0) expect(cache.get(o.key)).toBe(value);
          } else if (o.kind === 'get') {
            const got = cache.get(o.key);
            if (got !== undefined) {
              const w = written.get(got)!;
              expect(w.key).toBe(o.key);
              expect(got).toBe(latest.get(o.key));
              expect(c.now()).toBeLessThan(w.expiresAt);
            }
          } else {
            c.advance(o.ms);
          }
          expect(cache.size).toBeLessThanOrEqual(maxEntries);
        }
      }),
      { numRuns: 500 },
    );
  });
});
