import { Injectable } from '@nestjs/common';
import { InjectConfig, type NinefoldConfig, PrismaService } from '#core';
import { availabilityOver, dailyAvailability, type StateSpan, utcDaysStart } from './availability.js';
import { StateHistoryRepository } from './state-history.repository.js';
import { overallState, type OverallState } from './status-page.js';

/** A public service as the status page shows it. */
export interface StatusService {
  name: string;
  description: string | null;
  state: StateSpan['state'];
  stateSince: string;
  /** Availability over the 90 days shown (null: nothing known). */
  uptime90d: number | null;
  /** Availability per UTC day, oldest first; the last is today, so far. */
  days: { date: string; availability: number | null }[];
}

export interface StatusView {
  title: string;
  /** When this answer was computed (it is cached for {@link STATUS_CACHE_MS}). */
  updatedAt: string;
  state: OverallState;
  services: StatusService[];
}

/** How long one computed status page is served from memory: it is unauthenticated and what customers reload during an outage. */
export const STATUS_CACHE_MS = 10_000;
/** Days of history on the status page. */
export const STATUS_DAYS = 90;
/** Most services a status page shows. */
export const STATUS_MAX_SERVICES = 1000;

/** The public status page: public services, their state and 90 days of daily availability. */
@Injectable()
export class StatusPageService {
  /** The clock; replaceable in tests. */
  now: () => number = Date.now;
  private cached: { view: StatusView; names: Set<string>; expiresAt: number } | null = null;
  private computing: Promise<StatusView> | null = null;

  constructor(
    private readonly prisma: PrismaService,
    private readonly history: StateHistoryRepository,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  /**
   * The status page, computed at most once per {@link STATUS_CACHE_MS} per
   * process: callers arriving while it is computed share that computation,
   * so a burst of reloads costs one pair of queries. While the database
   * cannot be read, the last answer is served as it was.
   */
  async status(): Promise<StatusView> {
    if (this.cached && this.cached.expiresAt > this.now()) return this.cached.view;
    this.computing ??= this.compute()
      .then(
        (view) => {
          this.cached = { view, names: new Set(view.services.map((s) => s.name)), expiresAt: this.now() + STATUS_CACHE_MS };
          return view;
        },
        (err: unknown) => {
          // Postgres is away: the last answer (its updatedAt says how old) beats an error page during an outage.
          if (this.cached) return this.cached.view;
          throw err;
        },
      )
      .finally(() => {
        this.computing = null;
      });
    return this.computing;
  }

  /** Whether the status page (as cached) lists this service: what its live updates may mention. */
  async isPublic(name: string): Promise<boolean> {
    await this.status();
    return this.cached?.names.has(name) ?? false;
  }

  private async compute(): Promise<StatusView> {
    const nowMs = this.now();
    const rows = await this.prisma.service.findMany({
      where: { public: true },
      orderBy: { name: 'asc' },
      take: STATUS_MAX_SERVICES,
      select: { id: true, name: true, description: true, state: true, stateSince: true },
    });
    const startMs = utcDaysStart(nowMs, STATUS_DAYS);
    // One pair of queries for every service's history, not one per service.
    const spans = await this.history.spans(rows.map((r) => r.id), startMs, nowMs);
    return {
      title: this.config.NINEFOLD_STATUS_TITLE,
      updatedAt: new Date(nowMs).toISOString(),
      state: overallState(rows.map((r) => r.state)),
      services: rows.map((r) => {
        const s = spans.get(r.id) ?? [];
        return {
          name: r.name,
          description: r.description,
          state: r.state,
          stateSince: r.stateSince.toISOString(),
          uptime90d: availabilityOver(s, startMs, nowMs).availability,
          days: dailyAvailability(s, startMs, STATUS_DAYS).map((d) => ({ date: d.date, availability: d.availability })),
        };
      }),
    };
  }
}
