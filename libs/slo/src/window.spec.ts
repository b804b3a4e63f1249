import { windowOf } from './window.js';

const at = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

describe('SLO windows', () => {
  it('runs a rolling window back from now', () => {
    const now = at('2026-03-10T12:00:00Z');
    expect(windowOf('rolling', 30, now)).toEqual({ startMs: now - 30 * DAY, lengthMs: 30 * DAY, days: 30 });
  });

  it.each([
    ['2026-02-14T08:00:00Z', '2026-02-01T00:00:00Z', 28],
    ['2028-02-29T23:59:59Z', '2028-02-01T00:00:00Z', 29],
    ['2026-12-31T23:59:59Z', '2026-12-01T00:00:00Z', 31],
    ['2026-04-01T00:00:00Z', '2026-04-01T00:00:00Z', 30],
  ])('starts a calendar month at its first (UTC): %s → %s, %s days', (now, start, days) => {
    expect(windowOf('calendar_month', 30, at(now))).toEqual({ startMs: at(start), lengthMs: days * DAY, days });
  });
});
