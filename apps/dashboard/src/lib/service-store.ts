import { api, ApiError } from './api';
import { follow } from './live';
import { signal } from './signal';
import type { HistoryItem, Instance, InstanceState, Service, ServiceState, Uptime } from './types';

export interface ServicePageState {
  service: Service | null;
  /** 404: the service does not exist (or was just deleted). */
  missing: boolean;
  error: string | null;
  uptime: Uptime | null;
  history: HistoryItem[];
  historyCursor: string | null;
  historyLoading: boolean;
}

const HISTORY_PAGE = 50;
/** After a state change, today's bar is read again this much later (the transition must be stored first). */
const UPTIME_REFRESH_MS = 3_000;

/**
 * One service, kept current: GET /services/:name, /uptime and /history, then
 * the `service:<name>` room's instance.state and service.state events. A
 * reconnect re-reads all of it (the subscription's snapshot is the service).
 */
export function createServiceStore(name: string) {
  const state = signal<ServicePageState>({ service: null, missing: false, error: null, uptime: null, history: [], historyCursor: null, historyLoading: false });
  const abort = new AbortController();
  let stopped = false;
  let uptimeTimer: ReturnType<typeof setTimeout> | undefined;
  const patch = (p: Partial<ServicePageState>) => {
    if (!stopped) state.set({ ...state.value, ...p });
  };
  const failed = (err: unknown) => {
    if (stopped || (err as Error).name === 'AbortError') return;
    if (err instanceof ApiError && err.status === 404) patch({ missing: true, error: null });
    else patch({ error: (err as Error).message });
  };
  const get = <T>(path: string) => api<T>(`/services/${encodeURIComponent(name)}${path}`, { signal: abort.signal });

  async function loadService(): Promise<void> {
    try {
      patch({ service: await get<Service>(''), missing: false, error: null });
    } catch (err) {
      failed(err);
    }
  }

  async function loadUptime(): Promise<void> {
    try {
      patch({ uptime: await get<Uptime>('/uptime?days=90') });
    } catch (err) {
      failed(err);
    }
  }

  async function loadHistory(more = false): Promise<void> {
    const cursor = more ? state.value.historyCursor : null;
    if (more && !cursor) return;
    patch({ historyLoading: true });
    try {
      const page = await get<{ items: HistoryItem[]; nextCursor: string | null }>(`/history?limit=${HISTORY_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      patch({ history: more ? [...state.value.history, ...page.items] : page.items, historyCursor: page.nextCursor, historyLoading: false });
    } catch (err) {
      patch({ historyLoading: false });
      failed(err);
    }
  }

  function later(): void {
    clearTimeout(uptimeTimer);
    uptimeTimer = setTimeout(() => void loadUptime(), UPTIME_REFRESH_MS);
  }

  function onInstance(p: Record<string, unknown>): void {
    const svc = state.value.service;
    if (!svc || p.service !== name) return;
    const id = p.id as string;
    const prev = svc.instances.find((i) => i.id === id);
    const next: Instance = {
      ...(prev ?? { id, service: name, address: null, port: null, zone: null, region: null, partitioned: false }),
      state: p.state as InstanceState,
      status: (p.status as Instance['status']) ?? null,
      since: p.since as string,
      reason: (p.reason as string | null) ?? null,
      lastSeenAt: (p.lastSeenAt as string | null) ?? prev?.lastSeenAt ?? null,
      flapping: Boolean(p.flapping),
      address: (p.address as string | null) ?? prev?.address ?? null,
      port: (p.port as number | null) ?? prev?.port ?? null,
      zone: (p.zone as string | null) ?? prev?.zone ?? null,
      region: (p.region as string | null) ?? prev?.region ?? null,
    };
    const instances = prev ? svc.instances.map((i) => (i.id === id ? next : i)) : [...svc.instances, next];
    const entry: HistoryItem = { at: (p.at as string) ?? next.since, kind: 'instance', instance: id, from: p.from as string, to: next.state, reason: next.reason };
    patch({ service: { ...svc, instances }, history: [entry, ...state.value.history] });
  }

  function onService(p: Record<string, unknown>): void {
    const svc = state.value.service;
    if (!svc || p.name !== name) return;
    const to = p.state as ServiceState;
    const entry: HistoryItem = { at: (p.at as string) ?? (p.since as string), kind: 'service', instance: null, from: p.from as string, to, reason: (p.reason as string | null) ?? null };
    patch({ service: { ...svc, state: to, stateSince: p.since as string, stateReason: entry.reason, canLose: (p.canLose as number) ?? svc.canLose }, history: [entry, ...state.value.history] });
    later();
  }

  let first = true;
  const unfollow = follow({
    rooms: [`service:${name}`],
    events: { 'instance.state': onInstance, 'service.state': onService },
    onSnapshot: (snapshot) => {
      const s = snapshot[`service:${name}`] as Service | null | undefined;
      if (s) patch({ service: s, missing: false });
      // The first subscription comes with the page's own reads; later ones follow a reconnect.
      if (!first) {
        void loadHistory();
        void loadUptime();
      }
      first = false;
    },
  });
  void loadService();
  void loadUptime();
  void loadHistory();

  return {
    state,
    reload: loadService,
    moreHistory: () => loadHistory(true),
    stop(): void {
      stopped = true;
      abort.abort();
      clearTimeout(uptimeTimer);
      unfollow();
    },
  };
}

export type ServiceStore = ReturnType<typeof createServiceStore>;
