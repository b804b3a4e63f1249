import fc from 'fast-check';
import { filterServices, visibleRows } from './overview-filter';
import type { OverviewItem, ServiceState } from './types';

function item(name: string, state: ServiceState, extra: Partial<OverviewItem> = {}): OverviewItem {
  return {
    name,
    tier: null,
    state,
    stateSince: '2026-11-29T00:00:00Z',
    stateReason: null,
    instances: { total: 1, up: state === 'UP' ? 1 : 0, suspect: 0, down: state === 'DOWN' ? 1 : 0, flapping: 0 },
    availability: { '1h': null, '24h': null, '7d': null, '30d': null },
    composite30d: null,
    canLose: 0,
    survives: { node: false, zone: false, region: false },
    survivalGoal: null,
    survivalGoalMet: null,
    leader: null,
    budget: null,
    ...extra,
  };
}

describe('overview filter', () => {
  const items = [item('web', 'UP', { tier: 'critical' }), item('db', 'DOWN'), item('cache', 'DEGRADED'), item('queue', 'UNKNOWN'), item('api', 'UP', { instances: { total: 2, up: 2, suspect: 0, down: 0, flapping: 1 } })];

  it('puts the worst first, then names in order', () => {
    expect(filterServices(items, '', 'all').map((s) => s.name)).toEqual(['db', 'cache', 'queue', 'api', 'web']);
  });

  it('"needs attention" is anything not UP, plus flapping or short of its survival goal', () => {
    const goalMissed = item('zz', 'UP', { survivalGoal: 'zone', survivalGoalMet: false });
    expect(filterServices([...items, goalMissed], '', 'problems').map((s) => s.name)).toEqual(['db', 'cache', 'queue', 'api', 'zz']);
  });

  it('filters by one state', () => {
    expect(filterServices(items, '', 'UP').map((s) => s.name)).toEqual(['api', 'web']);
  });

  it('searches every word in name and tier', () => {
    expect(filterServices(items, 'CRIT', 'all').map((s) => s.name)).toEqual(['web']);
    expect(filterServices(items, 'we crit', 'all').map((s) => s.name)).toEqual(['web']);
    expect(filterServices(items, 'db crit', 'all')).toEqual([]);
  });
});

describe('virtual grid rows', () => {
  it('renders exactly the rows in view plus the overscan, within the grid', () => {
    expect(visibleRows(0, 500, 100, 1000, 0)).toEqual({ first: 0, last: 4 });
    expect(visibleRows(250, 500, 100, 1000, 2)).toEqual({ first: 0, last: 9 });
    expect(visibleRows(99_800, 500, 100, 1000, 2)).toEqual({ first: 996, last: 999 });
    expect(visibleRows(0, 500, 100, 0)).toEqual({ first: 0, last: -1 });
  });

  it('always covers every row that intersects the viewport, and never more than the viewport and overscan', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 10, max: 300 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 5 }), (top, height, rowHeight, rows, overscan) => {
        const { first, last } = visibleRows(top, height, rowHeight, rows, overscan);
        expect(first).toBeGreaterThanOrEqual(0);
        expect(last).toBeLessThanOrEqual(rows - 1);
        for (let r = Math.floor(top / rowHeight); r * rowHeight < top + height && r < rows; r++) {
          expect(r).toBeGreaterThanOrEqual(first);
          expect(r).toBeLessThanOrEqual(last);
        }
        expect(last - first + 1).toBeLessThanOrEqual(Math.ceil(height / rowHeight) + 1 + 2 * overscan);
      }),
    );
  });
});
