import type { ControlPlaneClient } from './control-plane.client.js';
import type { Logger } from './logger.js';

export interface BreakerView {
  dependency: string;
  state: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  since: string | null;
}

/** Refresh period while applications ask; states are only fetched for services someone asked about lately. */
const REFRESH_MS = 5000;
const INTEREST_MS = 60_000;
/** The control plane has no breaker endpoint (an older version) or refuses: ask again this rarely. */
const UNAVAILABLE_RETRY_MS = 60_000;

/**
 * Circuit-breaker states of the dependencies of this host's services, as the
 * control plane evaluates them (`GET /api/v1/breakers?service=`), cached so
 * applications can ask the agent every second without each asking Ninefold.
 */
export class BreakerCache {
  private readonly services = new Map<string, { items: BreakerView[]; fetchedAt: number; askedAt: number; nextAt: number; refreshing: boolean }>();

  constructor(
    private readonly client: ControlPlaneClient,
    private readonly log: Logger,
  ) {}

  /** What is known now (refreshed in the background when stale). */
  get(service: string): { items: BreakerView[]; fetchedAt: string | null } {
    const now = Date.now();
    let s = this.services.get(service);
    if (!s) {
      s = { items: [], fetchedAt: 0, askedAt: now, nextAt: 0, refreshing: false };
      this.services.set(service, s);
    }
    s.askedAt = now;
    if (!s.refreshing && now >= s.nextAt) void this.refresh(service, s);
    return { items: s.items, fetchedAt: s.fetchedAt ? new Date(s.fetchedAt).toISOString() : null };
  }

  private async refresh(service: string, s: { items: BreakerView[]; fetchedAt: number; askedAt: number; nextAt: number; refreshing: boolean }): Promise<void> {
    s.refreshing = true;
    try {
      const res = await this.client.get(`/api/v1/breakers?service=${encodeURIComponent(service)}`);
      if (res.kind === 'ok') {
        s.items = viewsOf(res.body);
        s.fetchedAt = Date.now();
        s.nextAt = s.fetchedAt + REFRESH_MS;
      } else {
        s.nextAt = Date.now() + (res.kind === 'rejected' || res.kind === 'unauthorized' ? UNAVAILABLE_RETRY_MS : REFRESH_MS);
        this.log.debug('breaker states not available', { service, reason: res.message });
      }
    } finally {
      s.refreshing = false;
      // Nobody asked lately: stop caring about this service.
      if (Date.now() - s.askedAt > INTEREST_MS) this.services.delete(service);
    }
  }
}

/** The contract answers a list; tolerate `{ items }` too, and ignore anything malformed. */
function viewsOf(body: unknown): BreakerView[] {
  const list = Array.isArray(body) ? body : typeof body === 'object' && body !== null && Array.isArray((body as { items?: unknown }).items) ? (body as { items: unknown[] }).items : [];
  return list.flatMap((b) => {
    if (typeof b !== 'object' || b === null) return [];
    const { dependency, state, since } = b as Record<string, unknown>;
    if (typeof dependency !== 'string' || (state !== 'CLOSED' && state !== 'OPEN' && state !== 'HALF_OPEN')) return [];
    return [{ dependency, state, since: typeof since === 'string' ? since : null }];
  });
}
