export type SloWindow = 'rolling' | 'calendar_month';

const DAY_MS = 86_400_000;

/** Where a window starts: `windowDays` back, or the first of the current UTC month. */
export function windowOf(window: SloWindow, windowDays: number, nowMs: number): { startMs: number; lengthMs: number; days: number } {
  if (window === 'rolling') return { startMs: nowMs - windowDays * DAY_MS, lengthMs: windowDays * DAY_MS, days: windowDays };
  const d = new Date(nowMs);
  const startMs = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const days = (Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - startMs) / DAY_MS;
  return { startMs, lengthMs: days * DAY_MS, days };
}
