import fc from 'fast-check';
import { ago, duration, nines, ninesLabel, percent } from './format';

describe('dashboard number formats', () => {
  it.each([
    [0.999, '99.900 %'],
    [0.9995, '99.950 %'],
    [0.99953, '99.953 %'],
    [0.95, '95.00 %'],
    [0.5, '50.00 %'],
    [1, '100 %'],
    [null, '–'],
  ])('percent(%s) is %s', (a, text) => {
    expect(percent(a)).toBe(text);
  });

  it('never shows 100 % for something that was down at all', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (a) => {
        expect(percent(a)).not.toMatch(/^100/);
        expect(Number.parseFloat(percent(a))).toBeLessThan(100);
      }),
    );
  });

  it.each([
    [0.9, 1, '1 nine'],
    [0.999, 3, '3 nines'],
    [0.9995, 3.3, '3.3 nines'],
    [1, Infinity, 'never down'],
    [null, null, 'no data'],
  ])('%s has %s nines (%s)', (a, n, label) => {
    expect(nines(a)).toBe(n);
    expect(ninesLabel(a)).toBe(label);
  });

  it.each([
    [0.25, '250 ms'],
    [42, '42 s'],
    [5025, '1 h 23 min'],
    [90_061, '1 d 1 h'],
  ])('duration(%s) is %s', (s, text) => {
    expect(duration(s)).toBe(text);
  });

  it('says how long ago, never in the future', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(ago('2026-11-29T11:57:00Z', now)).toBe('3 min ago');
    expect(ago('2026-11-29T12:00:05Z', now)).toBe('just now');
    expect(ago(null, now)).toBe('never');
  });
});
