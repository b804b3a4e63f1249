import { api } from './api';
import { follow } from './live';
import { signal } from './signal';
import type { Overview, OverviewItem, Service, ServiceState } from './types';

/** The first page is small so the first paint is quick; the rest comes in larger pages behind it. */
const FIRST_PAGE = 120;
const NEXT_PAGES = 500;
/** Instance counts change with instance.state, which the overview does not follow: re-read changed services this often. */
const REFRESH_MS = 2_000;
const REFRESH_BATCH = 25;
const LATE_REFRESH_MS = 10_000;

export interface OverviewState {
  items: Map<string, OverviewItem>;
  totals: Overview['totals'] | null;
  /** Every page has arrived. */
  complete: boolean;
  error: string | null;
  /** Bumped on every change, so views know to re-render. */
  version: number;
}

/**
 * Every service of the overview, kept current: the first paint from
 * GET /api/v1/overview, then `service.state` events from the `services` room,
 * and a re-read of the services that changed (for their instance counts).
 */
export function createOverviewStore() {
  const state = signal<OverviewState>({ items: new Map(), totals: null, complete: false, error: null, version: 0 });
  const dirty = new Set<string>();
  let stopped = false;
  const abort = new AbortController();

  const bump = (patch: Partial<OverviewState> = {}) => state.set({ ...state.value, ...patch, version: state.value.version + 1 });

  async function load(): Promise<void> {
    let cursor: string | null = null;
    let limit = FIRST_PAGE;
    const items = new Map<string, OverviewItem>();
    try {
      do {
        const page: Overview = await api<Overview>(`/overview?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { signal: abort.signal });
        if (stopped) return;
        for (const item of page.items) items.set(item.name, item);
        // Keep what events changed meanwhile: the newer of the two wins.
        for (const [name, cur] of state.value.items) {
          const loaded = items.get(name);
          if (!loaded || Date.parse(cur.stateSince) > Date.parse(loaded.stateSince)) items.set(name, cur);
        }
        cursor = page.nextCursor;
        limit = NEXT_PAGES;
        bump({ items: new Map(items), totals: page.totals, complete: cursor === null, error: null });
      } while (cursor);
    } catch (err) {
      if (!stopped) bump({ error: (err as Error).message });
    }
  }

  function onServiceState(p: Record<string, unknown>): void {
    const name = p.name as string;
    const cur = state.value.items.get(name);
    if (!cur) {
      dirty.add(name);
      return;
    }
    const prev = cur.state;
    const next = { ...cur, state: p.state as ServiceState, stateSince: (p.since as string) ?? cur.stateSince, stateReason: (p.reason as string | null) ?? null, canLose: (p.canLose as number) ?? cur.canLose };
    const items = new Map(state.value.items).set(name, next);
    const totals = state.value.totals;
    if (totals && prev !== next.state) {
      const services = { ...totals.services, [prev]: Math.max(0, totals.services[prev] - 1), [next.state]: totals.services[next.state] + 1 };
      bump({ items, totals: { ...totals, services } });
    } else bump({ items });
    dirty.add(name);
    // Read once more a little later: availability counts the new state only once its transition is stored.
    setTimeout(() => dirty.add(name), LATE_REFRESH_MS);
  }

  async function refreshDirty(): Promise<void> {
    const names = [...dirty].slice(0, REFRESH_BATCH);
    for (const n of names) dirty.delete(n);
    const fresh = await Promise.all(names.map((n) => api<Service>(`/services/${n}`, { signal: abort.signal }).catch(() => null)));
    if (stopped) return;
    const items = new Map(state.value.items);
    for (const s of fresh) if (s) items.set(s.name, toItem(s));
    if (fresh.some(Boolean)) bump({ items });
  }

  const timer = setInterval(() => void refreshDirty(), REFRESH_MS);
  const unfollow = follow({
    rooms: ['services'],
    snapshot: false,
    // A changed SLO changes the service's budget: read the service again.
    events: { 'service.state': onServiceState, 'slo.update': (p) => typeof p.service === 'string' && dirty.add(p.service) },
    // On a reconnect: read everything again, events may have been missed while away.
    onSnapshot: () => {
      if (state.value.complete) void load();
    },
  });
  void load();

  return {
    state,
    stop(): void {
      stopped = true;
      abort.abort();
      clearInterval(timer);
      unfollow();
    },
  };
}

/**
 * Totals as the tiles add up, once every page is in (the server's totals are
 * a snapshot of the first read; tiles are kept current by events since).
 */
export function totalsOf(data: OverviewState): Overview['totals'] | null {
  if (!data.totals || !data.complete) return data.totals;
  const services: Record<ServiceState, number> = { UP: 0, DEGRADED: 0, DOWN: 0, UNKNOWN: 0 };
  const instances = { UP: 0, SUSPECT: 0, DOWN: 0, UNKNOWN: 0 };
  for (const s of data.items.values()) {
    services[s.state]++;
    instances.UP += s.instances.up;
    instances.SUSPECT += s.instances.suspect;
    instances.DOWN += s.instances.down;
    instances.UNKNOWN += s.instances.total - s.instances.up - s.instances.suspect - s.instances.down;
  }
  return { ...data.totals, services, instances };
}

/** An overview tile from a whole service (GET /services/:name). */
export function toItem(s: Service): OverviewItem {
  return {
    name: s.name,
    tier: s.tier,
    state: s.state,
    stateSince: s.stateSince,
    stateReason: s.stateReason,
    instances: {
      total: s.instances.length,
      up: s.instances.filter((i) => i.state === 'UP').length,
      suspect: s.instances.filter((i) => i.state === 'SUSPECT').length,
      down: s.instances.filter((i) => i.state === 'DOWN').length,
      flapping: s.instances.filter((i) => i.flapping).length,
    },
    availability: s.availability,
    composite30d: s.composite30d,
    canLose: s.canLose,
    survives: s.survives,
    survivalGoal: s.survivalGoal,
    survivalGoalMet: s.survivalGoalMet,
    leader: s.leader,
    budget: s.budget,
  };
}
