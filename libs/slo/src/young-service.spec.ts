import fc from 'fast-check';
import type { StateSpan } from '#registry';
import { BURN_WINDOWS, burnRate, policyFor } from './burn-rate.js';
import { alertsOf, availabilityCounts } from './slo.service.js';

const NOW = Date.UTC(2026, 11, 7, 12);
const S = 1000;
const WINDOW_START = NOW - 30 * 86_400 * S;

/** History from the window's start: UNKNOWN until `birthMs`, then the given spans (ms relative to birth). */
function history(birthMs: number, after: { state: StateSpan['state']; forMs: number }[]): StateSpan[] {
  const spans: StateSpan[] = [{ state: 'UNKNOWN', fromMs: WINDOW_START, toMs: birthMs }];
  let t = birthMs;
  for (const s of after) {
    spans.push({ state: s.state, fromMs: t, toMs: t + s.forMs });
    t += s.forMs;
  }
  return spans;
}

describe('an availability SLO of a service younger than its burn windows', () => {
  it('does not page a 26-second-old service for its 18 s start-up, and says why', () => {
    const spans = history(NOW - 26 * S, [
      { state: 'DOWN', forMs: 18 * S },
      { state: 'UP', forMs: 8 * S },
    ]);
    const counts = availabilityCounts(spans, WINDOW_START, NOW);
    // The SLI is what was seen: 8 of 26 seconds up.
    expect(counts.window).toEqual({ good: 8, total: 26 });
    // The hour is judged by the budget spent: 18 s of 3,600 at 99.9 % is a burn rate of 5, not 692.
    expect(burnRate(counts.burn['1h'], 0.999)).toBeCloseTo(5, 6);
    const alerts = alertsOf(counts, 0.999, policyFor(30), 0);
    expect(alerts.filter((a) => a.firing)).toEqual([]);
    expect(alerts.find((a) => a.longWindow === '1h')?.suppressed).toBe('the service is 26 s old, less than the 1h window: judged by the budget it spent (18 s down), not by its error ratio so far');
  });

  it('pages a new service that is really down, as soon as an established one would be paged', () => {
    // Ten minutes old and down all along: 600 s of 3,600 is a burn rate of 167 over the hour.
    const counts = availabilityCounts(history(NOW - 600 * S, [{ state: 'DOWN', forMs: 600 * S }]), WINDOW_START, NOW);
    const page = alertsOf(counts, 0.999, policyFor(30), 0).find((a) => a.longWindow === '1h');
    expect(page).toMatchObject({ firing: true, suppressed: null });
  });

  it('judges every burn window as if the service had been up before its first heartbeat', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 * 86_400 }),
        fc.array(fc.record({ state: fc.constantFrom<StateSpan['state']>('UP', 'DOWN', 'DEGRADED'), forMs: fc.integer({ min: 1, max: 7200 }).map((x) => x * S) }), { maxLength: 20 }),
        (ageSeconds, after) => {
          const birth = NOW - ageSeconds * S;
          // Its states since the first heartbeat, cut at now, then UP until now.
          const fits = after.filter((_, i, all) => all.slice(0, i + 1).reduce((t, s) => t + s.forMs, 0) <= ageSeconds * S);
          const used = fits.reduce((t, s) => t + s.forMs, 0);
          const young = history(birth, [...fits, ...(used < ageSeconds * S ? [{ state: 'UP' as const, forMs: ageSeconds * S - used }] : [])]);
          // The same history with the time before the first heartbeat UP.
          const established = young.map((s) => (s.state === 'UNKNOWN' ? { ...s, state: 'UP' as const } : s));
          const a = availabilityCounts(young, WINDOW_START, NOW);
          const b = availabilityCounts(established, WINDOW_START, NOW);
          for (const w of Object.keys(BURN_WINDOWS) as (keyof typeof BURN_WINDOWS)[]) {
            expect(burnRate(a.burn[w], 0.999)).toBeCloseTo(burnRate(b.burn[w], 0.999)!, 9);
          }
        },
      ),
    );
  });

  it('leaves an established service alone', () => {
    const spans: StateSpan[] = [
      { state: 'UP', fromMs: WINDOW_START, toMs: NOW - 60 * S },
      { state: 'DOWN', fromMs: NOW - 60 * S, toMs: NOW },
    ];
    const counts = availabilityCounts(spans, WINDOW_START, NOW);
    expect(counts.uncovered).toBeUndefined();
    expect(counts.burn['5m']).toEqual({ good: 240, total: 300 });
  });
});
