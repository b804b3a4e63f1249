import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF, parseRetryAfter } from './backoff.js';

/** Any value `Math.random` may return: [0, 1). */
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const policy: fc.Arbitrary<BackoffPolicy> = fc
  .record({ baseMs: fc.integer({ min: 1, max: 10_000 }), extra: fc.integer({ min: 0, max: 1_000_000 }) })
  .map(({ baseMs, extra }) => ({ baseMs, maxMs: baseMs + extra }));
/** Just below 1: the largest delay a policy gives for an attempt. */
const top = () => 1 - Number.EPSILON;

describe('backoffDelay', () => {
  it('stays within [base/10, min(max, base·2^(attempt-1))] for any attempt ≥ 1 and random in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), unit, policy, (attempt, r, p) => {
        const d = backoffDelay(attempt, () => r, p);
        expect(d).toBeGreaterThanOrEqual(p.baseMs / 10);
        expect(d).toBeLessThanOrEqual(Math.min(p.maxMs, p.baseMs * 2 ** (attempt - 1)));
        expect(Number.isFinite(d)).toBe(true);
      }),
    );
  });

  it('never returns 0, so a failing loop cannot spin: random 0 gives a tenth of the base', () => {
    expect(backoffDelay(1, () => 0)).toBe(50);
    expect(backoffDelay(30, () => 0, { baseMs: 1_000, maxMs: 60_000 })).toBe(100);
  });

  it('grows its cap by doubling, then stays at max (default policy, random just below 1)', () => {
    const delays = Array.from({ length: 10 }, (_, i) => backoffDelay(i + 1, top));
    expect(delays).toEqual([499, 999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999, 29_999, 29_999]);
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, maxMs: 30_000 });
  });

  it('for the same random value, never shrinks as attempts grow, and reaches max once base·2^(attempt-1) ≥ max', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), unit, policy, (attempt, r, p) => {
        const d = backoffDelay(attempt, () => r, p);
        expect(backoffDelay(attempt + 1, () => r, p)).toBeGreaterThanOrEqual(d);
        if (p.baseMs * 2 ** (attempt - 1) >= p.maxMs) {
          expect(d).toBe(Math.max(p.baseMs / 10, Math.floor(r * p.maxMs)));
          expect(backoffDelay(attempt + 1_000, () => r, p)).toBe(d);
        }
      }),
    );
  });

  it('treats attempt 0, negative or absurdly large attempts sanely (first retry / max)', () => {
    expect(backoffDelay(0, top)).toBe(499);
    expect(backoffDelay(-5, top)).toBe(499);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, top)).toBe(29_999);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 15, 12, 0, 0);

  it('reads delta-seconds as milliseconds, capped at one hour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (s) => {
        expect(parseRetryAfter(String(s), now)).toBe(Math.min(s * 1000, 3_600_000));
      }),
    );
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('3600', now)).toBe(3_600_000);
    expect(parseRetryAfter('3601', now)).toBe(3_600_000);
    expect(parseRetryAfter('99999999999999999999', now)).toBe(3_600_000);
  });

  it('reads an HTTP date as the time left until it (past → 0), capped at one hour', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), (s) => {
        const at = new Date(now + s * 1000).toUTCString(); // IMF-fixdate: "Thu, 15 Jan 2026 12:00:00 GMT"
        expect(parseRetryAfter(at, now)).toBe(Math.min(Math.max(s * 1000, 0), 3_600_000));
      }),
    );
    expect(parseRetryAfter('Thu, 15 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(0);
    // The two obsolete forms RFC 9110 still asks recipients to accept.
    expect(parseRetryAfter('Thursday, 15-Jan-26 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Thu Jan 15 12:02:00 2026', now)).toBe(120_000);
  });

  it('gives undefined when absent or unreadable', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    for (const garbage of ['', '   ', 'soon', 'later please', '12abc', '0x10', '1e3', 'Infinity', '-5', '+1', '1.5', '2 minutes', 'tomorrow 5', 'Mon 5']) {
      expect({ garbage, ms: parseRetryAfter(garbage, now) }).toEqual({ garbage, ms: undefined });
    }
  });

  it('gives undefined for any text that is neither digits nor an HTTP date', () => {
    const weekday = /^\s*(mon|tue|wed|thu|fri|sat|sun)/i;
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).filter((s) => !/^\s*\d+\s*$/.test(s) && !weekday.test(s)),
        (s) => {
          expect(parseRetryAfter(s, now)).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });
});
