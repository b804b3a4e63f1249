import fc from 'fast-check';
import { BURN_WINDOWS, type BurnWindow, budgetSpent, burnRate, DEFAULT_POLICY, errorBudget, evaluateAlerts, policyFor, type WindowCounts } from './burn-rate.js';

/** Counts for every window at one steady error ratio, `perSecond` events a second. */
function steady(errorRatio: number, perSecond = 10, overrides: Partial<Record<BurnWindow, WindowCounts>> = {}): Record<BurnWindow, WindowCounts> {
  const out = {} as Record<BurnWindow, WindowCounts>;
  for (const [w, s] of Object.entries(BURN_WINDOWS) as [BurnWindow, number][]) {
    const total = s * perSecond;
    out[w] = overrides[w] ?? { total, good: total - total * errorRatio };
  }
  return out;
}

const firing = (states: ReturnType<typeof evaluateAlerts>) => states.filter((s) => s.firing).map((s) => `${s.severity}:${s.longWindow}`);

describe('burn rates and error budgets (SRE workbook)', () => {
  it('spends 2 % of a 30-day budget burning at 14.4 for 1 h, 5 % at 6 for 6 h, 10 % at 1 for 3 d', () => {
    expect(budgetSpent(14.4, 3600, 30)).toBeCloseTo(0.02, 12);
    expect(budgetSpent(6, 6 * 3600, 30)).toBeCloseTo(0.05, 12);
    expect(budgetSpent(1, 3 * 86_400, 30)).toBeCloseTo(0.1, 12);
    // Burning at 1 spends exactly the whole budget over the SLO window.
    expect(budgetSpent(1, 30 * 86_400, 30)).toBeCloseTo(1, 12);
  });

  it('is the error ratio over the allowed one', () => {
    expect(burnRate({ total: 1000, good: 999 }, 0.999)).toBeCloseTo(1, 9);
    expect(burnRate({ total: 10_000, good: 10_000 - 144 }, 0.999)).toBeCloseTo(14.4, 9);
    expect(burnRate({ total: 0, good: 0 }, 0.999)).toBeNull();
    expect(() => burnRate({ total: 1, good: 1 }, 1)).toThrow(RangeError);
  });

  it('counts the budget allowed, consumed and left', () => {
    expect(errorBudget({ total: 100_000, good: 99_950 }, 0.999)).toEqual({ allowed: expect.closeTo(100, 9), consumed: 50, remaining: expect.closeTo(0.5, 9) });
    expect(errorBudget({ total: 1000, good: 990 }, 0.999).remaining).toBeCloseTo(-9, 9);
    expect(errorBudget({ total: 0, good: 0 }, 0.999).remaining).toBeNull();
  });
});

describe('multi-window, multi-burn-rate alerts', () => {
  const objective = 0.999;

  it('pages on a fast burn and files a ticket on a slow one', () => {
    expect(firing(evaluateAlerts(steady(0.0144), objective, DEFAULT_POLICY))).toEqual(['page:1h', 'page:6h', 'ticket:3d']);
    expect(firing(evaluateAlerts(steady(0.007), objective, DEFAULT_POLICY))).toEqual(['page:6h', 'ticket:3d']);
    expect(firing(evaluateAlerts(steady(0.002), objective, DEFAULT_POLICY))).toEqual(['ticket:3d']);
    expect(firing(evaluateAlerts(steady(0.0009), objective, DEFAULT_POLICY))).toEqual([]);
  });

  it('stops paging once the short window has recovered, although the long one still burns', () => {
    const recovered = steady(0.02, 10, { '5m': { total: 3000, good: 3000 } });
    const states = evaluateAlerts(recovered, objective, DEFAULT_POLICY);
    expect(states[0]).toMatchObject({ severity: 'page', longWindow: '1h', firing: false, shortBurnRate: 0 });
    expect(states[0].longBurnRate).toBeCloseTo(20, 9);
  });

  it('does not page on too few events, and says why', () => {
    // 1 bad request of 3 in the last hour: a 33 % error ratio, but no outage.
    const quiet = steady(1 / 3, 1 / 1200);
    const states = evaluateAlerts(quiet, objective, DEFAULT_POLICY, 100);
    expect(states.filter((s) => s.severity === 'page').every((s) => !s.firing)).toBe(true);
    expect(states[0].suppressed).toBe('only 3 events in 1h (fewer than 100): too few to page on');
    // With enough traffic the same ratio pages.
    expect(evaluateAlerts(steady(1 / 3), objective, DEFAULT_POLICY, 100)[0].firing).toBe(true);
  });

  it('scales the thresholds to the SLO window: the same share of the budget in the same time', () => {
    const week = policyFor(7);
    expect(week.map((r) => r.burnRate)).toEqual([3.36, 1.4, 0.233333]);
    for (const r of week) expect(budgetSpent(r.burnRate, BURN_WINDOWS[r.longWindow], 7)).toBeCloseTo(budgetSpent(DEFAULT_POLICY.find((d) => d.longWindow === r.longWindow)!.burnRate, BURN_WINDOWS[r.longWindow], 30), 5);
    expect(policyFor(30)).toEqual(DEFAULT_POLICY);
  });

  it('fires only when both windows burn at least at the threshold, and never on empty windows (property)', () => {
    const counts = fc.record(Object.fromEntries(Object.keys(BURN_WINDOWS).map((w) => [w, fc.nat({ max: 1_000_000 }).chain((total) => fc.record({ total: fc.constant(total), good: fc.nat({ max: total }) }))])) as Record<BurnWindow, fc.Arbitrary<WindowCounts>>);
    fc.assert(
      fc.property(counts, fc.double({ min: 0.9, max: 0.99999, noNaN: true }), fc.nat({ max: 1000 }), (c, obj, minEvents) => {
        for (const s of evaluateAlerts(c, obj, DEFAULT_POLICY, minEvents)) {
          if (!s.firing) continue;
          expect(s.longBurnRate).toBeGreaterThanOrEqual(s.burnRate * (1 - 1e-9));
          expect(s.shortBurnRate).toBeGreaterThanOrEqual(s.burnRate * (1 - 1e-9));
          expect(c[s.longWindow].total).toBeGreaterThan(0);
          if (s.severity === 'page') expect(c[s.longWindow].total).toBeGreaterThanOrEqual(minEvents);
        }
      }),
    );
  });
});
