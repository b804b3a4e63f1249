import type { OverviewItem, ServiceState } from './types';

export type StateFilter = 'all' | 'problems' | ServiceState;

/** Worst first: what needs attention is at the top. */
const SEVERITY: Record<ServiceState, number> = { DOWN: 0, DEGRADED: 1, UNKNOWN: 2, UP: 3 };

/**
 * The services the overview shows: those matching the search (every word in
 * the name or tier) and the state filter ("problems": anything not UP, or
 * flapping, or below its survival goal), worst state first, then by name.
 */
export function filterServices(items: Iterable<OverviewItem>, query: string, state: StateFilter): OverviewItem[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const out: OverviewItem[] = [];
  for (const s of items) {
    if (state === 'problems' ? s.state === 'UP' && s.instances.flapping === 0 && s.survivalGoalMet !== false : state !== 'all' && s.state !== state) continue;
    if (words.length > 0) {
      const hay = `${s.name} ${s.tier ?? ''}`.toLowerCase();
      if (!words.every((w) => hay.includes(w))) continue;
    }
    out.push(s);
  }
  return out.sort((a, b) => SEVERITY[a.state] - SEVERITY[b.state] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Which rows of a virtual grid to render: rows that intersect the viewport
 * [top, top + height), plus `overscan` rows each side, clamped to the grid.
 */
export function visibleRows(top: number, height: number, rowHeight: number, rows: number, overscan = 2): { first: number; last: number } {
  if (rows <= 0 || rowHeight <= 0) return { first: 0, last: -1 };
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(rows - 1, Math.ceil((top + Math.max(0, height)) / rowHeight) + overscan - 1);
  return { first: Math.min(first, rows - 1), last: Math.max(last, Math.min(first, rows - 1)) };
}
