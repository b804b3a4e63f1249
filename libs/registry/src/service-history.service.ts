import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '#core';
import { availabilityOver, dailyAvailability, type DayAvailability, utcDaysStart } from './availability.js';
import { decodeHistoryCursor, encodeHistoryCursor } from './history-cursor.js';
import { RegistryService } from './registry.service.js';
import { StateHistoryRepository } from './state-history.repository.js';

/** One state change as the API shows it. */
export interface HistoryItem {
  at: string;
  kind: 'service' | 'instance';
  /** The instance that changed state; null for the service's own changes and for an instance deleted since. */
  instance: string | null;
  from: string;
  to: string;
  reason: string | null;
}

export interface UptimeView {
  service: string;
  /** One entry per UTC day, oldest first; the last is today, so far. */
  days: DayAvailability[];
  /** Over the whole range. */
  availability: number | null;
  downSeconds: number;
}

/** Most days an uptime answer covers (what status pages show). */
export const UPTIME_MAX_DAYS = 90;

/** A service's state history and its availability per day, for the dashboard. */
@Injectable()
export class ServiceHistoryService {
  constructor(
    private readonly registry: RegistryService,
    private readonly history: StateHistoryRepository,
  ) {}

  /** State changes of a service and its instances, newest first, paged by an opaque cursor. */
  async changes(service: string, limit: number, cursor?: string): Promise<{ items: HistoryItem[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : decodeHistoryCursor(cursor);
    const id = await this.registry.serviceId(service);
    const rows = await this.history.changes(id, limit + 1, after);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      items: page.map((r) => ({ at: r.at.toISOString(), kind: r.kind, instance: r.instance, from: r.from, to: r.to, reason: r.reason })),
      nextCursor: more ? encodeHistoryCursor(page[page.length - 1]) : null,
    };
  }

  /** Availability per UTC day over the last `days` days (today included, up to `nowMs`). */
  async uptime(service: string, days: number, nowMs = Date.now()): Promise<UptimeView> {
    if (!Number.isInteger(days) || days < 1 || days > UPTIME_MAX_DAYS) throw new DomainError(ErrorCode.Invalid, [`days must be an integer from 1 to ${UPTIME_MAX_DAYS}`]);
    const id = await this.registry.serviceId(service);
    const startMs = utcDaysStart(nowMs, days);
    const spans = (await this.history.spans([id], startMs, nowMs)).get(id) ?? [];
    const whole = availabilityOver(spans, startMs, nowMs);
    return { service, days: dailyAvailability(spans, startMs, days), availability: whole.availability, downSeconds: whole.downSeconds };
  }
}
