import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { availabilityOfNines, ninesRow, PERIOD_SECONDS } from './nines.js';

const minutes = (s: number) => s / 60;
const hours = (s: number) => s / 3600;

describe('the nines table', () => {
  it('reproduces the table of docs/api.md: 99.9 % allows 8.77 h a year, 43.8 min a month, 10.1 min a week', () => {
    const row = ninesRow(0.999);
    expect(row.nines).toBe(3);
    expect(row.percent).toBe(99.9);
    expect(hours(row.allowedDowntimeSeconds.year)).toBeCloseTo(8.77, 2);
    expect(minutes(row.allowedDowntimeSeconds.month)).toBeCloseTo(43.8, 1);
    expect(minutes(row.allowedDowntimeSeconds.week)).toBeCloseTo(10.1, 1);
    expect(row.allowedDowntimeSeconds.day).toBeCloseTo(86.4, 6);
  });

  it.each([
    [0.9, 1, 36.525 * 86_400],
    [0.99, 2, 3.6525 * 86_400],
    [0.9995, 3.30103, 15_778.8],
    [0.9999, 4, 52.596 * 60],
    [0.99999, 5, 5.2596 * 60],
  ])('%s is %s nines, %s s a year', (a, n, year) => {
    const row = ninesRow(a);
    expect(row.nines).toBeCloseTo(n, 5);
    expect(row.allowedDowntimeSeconds.year).toBeCloseTo(year, -1);
  });

  it('allows no downtime at 100 % (no count of nines) and the whole period at 0 %', () => {
    expect(ninesRow(1)).toMatchObject({ nines: null, allowedDowntimeSeconds: { year: 0, month: 0, week: 0, day: 0 } });
    expect(ninesRow(0)).toMatchObject({ nines: 0, allowedDowntimeSeconds: { day: 86_400, year: PERIOD_SECONDS.year } });
    expect(() => ninesRow(1.01)).toThrow(RangeError);
    expect(() => ninesRow(Number.NaN)).toThrow(RangeError);
  });

  it('turns nines back into availability', () => {
    expect(availabilityOfNines(3)).toBe(0.999);
    expect(availabilityOfNines(5)).toBe(0.99999);
    fc.assert(fc.property(fc.double({ min: 0.1, max: 9, noNaN: true }), (n) => expect(ninesRow(availabilityOfNines(n)).nines).toBeCloseTo(n, 6)));
  });

  it('gives more downtime to lower availability, and a month is a twelfth of a year (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        expect(ninesRow(lo).allowedDowntimeSeconds.year).toBeGreaterThanOrEqual(ninesRow(hi).allowedDowntimeSeconds.year);
        expect(ninesRow(a).allowedDowntimeSeconds.month * 12).toBeCloseTo(ninesRow(a).allowedDowntimeSeconds.year, 3);
      }),
    );
  });

  it('matches the nines table in docs/api.md, row by row, to the digits shown', () => {
    const readme = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| availability | nines | per year |'));
    const rows = table.split('\n').slice(2).filter((l) => l.startsWith('| ') && l.includes('%'));
    expect(rows.length).toBeGreaterThanOrEqual(6);
    const UNIT: Record<string, number> = { d: 86_400, h: 3600, min: 60, s: 1 };
    for (const line of rows) {
      const [percent, nines, ...periods] = line.split('|').slice(1, -1).map((c) => c.trim());
      const row = ninesRow(Number.parseFloat(percent) / 100);
      expect(Math.floor(row.nines! * 10) / 10).toBe(Number(nines));
      (['year', 'month', 'week', 'day'] as const).forEach((period, i) => {
        const [value, unit] = periods[i].split(' ');
        const shown = Number(value);
        const digits = value.includes('.') ? value.split('.')[1].length : 0;
        expect(Math.abs(row.allowedDowntimeSeconds[period] / UNIT[unit] - shown)).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9);
      });
    }
  });
});
