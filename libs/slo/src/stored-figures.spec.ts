import type { SloView } from './slo.service.js';
import { changed } from './stored-figures.js';

const NOW = Date.UTC(2026, 10, 30, 12);

function view(over: { sli?: number | null; remaining?: number | null; burn?: Record<string, number | null>; firing?: boolean } = {}): SloView {
  return {
    sli: { type: 'requests', value: over.sli === undefined ? 0.9995 : over.sli, good: 0, total: 0 },
    errorBudget: { allowedEvents: 1, consumed: 0, remaining: over.remaining === undefined ? 0.5 : over.remaining },
    burnRates: { '5m': 0.5, '30m': 0.5, '1h': 0.5, '6h': 0.5, '1d': 0.5, '3d': 0.5, ...over.burn },
    alerts: [{ severity: 'page', longWindow: '1h', shortWindow: '5m', burnRate: 14.4, firing: over.firing ?? false }],
  } as unknown as SloView;
}

const stored = { evaluatedAt: new Date(NOW - 60_000), sliValue: 0.9995, budgetRemaining: 0.5, firing: [] as string[], burnRates: { '5m': 0.5, '30m': 0.5, '1h': 0.5, '6h': 0.5, '1d': 0.5, '3d': 0.5 } };

describe('which evaluations are written back to the SLO', () => {
  it('skips an evaluation that moved nothing visible', () => {
    expect(changed(stored, view(), NOW)).toBe(false);
    expect(changed(stored, view({ sli: 0.99950049, remaining: 0.50009, burn: { '5m': 0.5049 } }), NOW)).toBe(false);
  });

  it('writes when alerts change, the budget moves by 0.01 %, the SLI by 0.0001 % or a burn rate by 1 %', () => {
    expect(changed(stored, view({ firing: true }), NOW)).toBe(true);
    expect(changed(stored, view({ remaining: 0.4998 }), NOW)).toBe(true);
    expect(changed(stored, view({ sli: 0.999502 }), NOW)).toBe(true);
    expect(changed(stored, view({ burn: { '3d': 0.506 } }), NOW)).toBe(true);
  });

  it('writes when a figure appears or vanishes', () => {
    expect(changed(stored, view({ sli: null }), NOW)).toBe(true);
    expect(changed(stored, view({ burn: { '1h': null } }), NOW)).toBe(true);
    expect(changed({ ...stored, budgetRemaining: null }, view(), NOW)).toBe(true);
    expect(changed({ ...stored, burnRates: null }, view(), NOW)).toBe(true);
  });

  it('writes at least every five minutes, and always the first time', () => {
    expect(changed({ ...stored, evaluatedAt: new Date(NOW - 5 * 60_000) }, view(), NOW)).toBe(true);
    expect(changed({ ...stored, evaluatedAt: null }, view(), NOW)).toBe(true);
  });
});
