import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MINUTE_MS, putMinutes, RING } from './request-counts.js';

describe('putMinutes (the ring parser of packed minute rows)', () => {
  it('puts each "minute,total,errors" into its slot, as splitting the string would (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 29_000_000, max: 29_999_999 }), { minLength: 1, maxLength: 64, selector: (m) => m % RING }),
        fc.array(fc.tuple(fc.nat(2 ** 40), fc.nat(2 ** 40)), { minLength: 64, maxLength: 64 }),
        (minutes, counts) => {
          const packed = minutes.map((m, i) => `${m},${counts[i][0]},${counts[i][1]}`).join(';');
          const ring = new Float64Array(RING * 3).fill(-1);
          putMinutes(ring, packed);
          const want = new Float64Array(RING * 3).fill(-1);
          for (const part of packed.split(';')) {
            const [m, t, e] = part.split(',').map(Number);
            want.set([m * MINUTE_MS, t, e], (m % RING) * 3);
          }
          expect(Array.from(ring)).toEqual(Array.from(want));
        },
      ),
    );
  });
});
