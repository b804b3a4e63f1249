import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, PrismaService } from '#core';
import { AvailabilityRollups } from './availability-rollups.js';

/** The longest maintenance window. */
export const MAX_MAINTENANCE_DAYS = 31;
/** How far back a window may start: the day rollups' reach. */
const MAX_PAST_DAYS = 90;
const DAY_MS = 86_400_000;

export interface MaintenanceView {
  id: string;
  service: string;
  from: string;
  to: string;
  reason: string | null;
  /** Whether it is under way now. */
  active: boolean;
  createdAt: string;
}

/**
 * Maintenance windows of services: time a service is explicitly in
 * maintenance is left out of its availability (and its availability SLOs'
 * budgets), neither up nor down. Windows may be planned ahead or recorded
 * afterwards (up to 90 days back); the rollups of the hours and days they
 * touch are rebuilt at once.
 */
@Injectable()
export class MaintenanceService {
  /** The clock; replaceable in tests. */
  now: () => number = Date.now;

  constructor(
    private readonly prisma: PrismaService,
    private readonly rollups: AvailabilityRollups,
  ) {}

  async create(service: string, spec: { fromMs?: number; toMs?: number; durationMinutes?: number; reason?: string }): Promise<MaintenanceView> {
    const row = await this.serviceRow(service);
    const nowMs = this.now();
    const fromMs = spec.fromMs ?? nowMs;
    const problems: string[] = [];
    if ((spec.toMs === undefined) === (spec.durationMinutes === undefined)) problems.push('give either to or durationMinutes');
    const toMs = spec.toMs ?? fromMs + (spec.durationMinutes ?? 0) * 60_000;
    if (!(toMs > fromMs)) problems.push('to must be after from');
    if (toMs - fromMs > MAX_MAINTENANCE_DAYS * DAY_MS) problems.push(`a maintenance window lasts at most ${MAX_MAINTENANCE_DAYS} days`);
    if (fromMs < nowMs - MAX_PAST_DAYS * DAY_MS) problems.push(`from may be at most ${MAX_PAST_DAYS} days ago`);
    if (problems.length > 0) throw new DomainError(ErrorCode.Invalid, problems);
    const created = await this.prisma.maintenanceWindow.create({ data: { serviceId: row.id, startsAt: new Date(fromMs), endsAt: new Date(toMs), reason: spec.reason ?? null } });
    await this.rollups.rebuild(row.id, fromMs, toMs);
    return viewOf(created, service, nowMs);
  }

  /** The service's windows that end after `sinceMs` (default: 30 days ago), soonest first. */
  async list(service: string, sinceMs?: number): Promise<MaintenanceView[]> {
    const row = await this.serviceRow(service);
    const nowMs = this.now();
    const rows = await this.prisma.maintenanceWindow.findMany({ where: { serviceId: row.id, endsAt: { gt: new Date(sinceMs ?? nowMs - 30 * DAY_MS) } }, orderBy: [{ startsAt: 'asc' }, { id: 'asc' }], take: 500 });
    return rows.map((r) => viewOf(r, service, nowMs));
  }

  /** The windows under way now of these services, by service id. */
  async active(serviceIds: string[]): Promise<Map<string, { id: string; from: string; to: string; reason: string | null }>> {
    const now = new Date(this.now());
    const rows = await this.prisma.maintenanceWindow.findMany({ where: { serviceId: { in: serviceIds }, startsAt: { lte: now }, endsAt: { gt: now } }, orderBy: { endsAt: 'desc' } });
    const out = new Map<string, { id: string; from: string; to: string; reason: string | null }>();
    for (const r of rows) if (!out.has(r.serviceId)) out.set(r.serviceId, { id: r.id, from: r.startsAt.toISOString(), to: r.endsAt.toISOString(), reason: r.reason });
    return out;
  }

  /**
   * Ends a window under way now (its time so far stays maintenance), or
   * removes one planned or past (its time counts again). Returns what was done.
   */
  async end(service: string, id: string): Promise<{ ended: MaintenanceView | null; removed: boolean }> {
    const row = await this.serviceRow(service);
    const w = /^[0-9a-f-]{36}$/i.test(id) ? await this.prisma.maintenanceWindow.findFirst({ where: { id, serviceId: row.id } }) : null;
    if (!w) throw new DomainError(ErrorCode.NotFound, `maintenance window ${id} of ${service} not found`);
    const nowMs = this.now();
    if (w.startsAt.getTime() <= nowMs && w.endsAt.getTime() > nowMs) {
      const ended = await this.prisma.maintenanceWindow.update({ where: { id }, data: { endsAt: new Date(nowMs) } });
      await this.rollups.rebuild(row.id, nowMs, w.endsAt.getTime());
      return { ended: viewOf(ended, service, nowMs), removed: false };
    }
    await this.prisma.maintenanceWindow.delete({ where: { id } });
    await this.rollups.rebuild(row.id, w.startsAt.getTime(), w.endsAt.getTime());
    return { ended: null, removed: true };
  }

  private async serviceRow(name: string): Promise<{ id: string }> {
    const row = await this.prisma.service.findUnique({ where: { name }, select: { id: true } });
    if (!row) throw new DomainError(ErrorCode.NotFound, `service ${name} not found`);
    return row;
  }
}

function viewOf(r: { id: string; startsAt: Date; endsAt: Date; reason: string | null; createdAt: Date }, service: string, nowMs: number): MaintenanceView {
  return {
    id: r.id,
    service,
    from: r.startsAt.toISOString(),
    to: r.endsAt.toISOString(),
    reason: r.reason,
    active: r.startsAt.getTime() <= nowMs && r.endsAt.getTime() > nowMs,
    createdAt: r.createdAt.toISOString(),
  };
}
