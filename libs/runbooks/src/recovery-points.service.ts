import { Injectable } from '@nestjs/common';
import { afterId, DomainError, ErrorCode, pageOf, PrismaService } from '#core';

export interface RecoveryPointView {
  id: string;
  service: string;
  at: string;
  location: string | null;
  recordedAt: string;
}

/** Backups clocks may run ahead a little; a recovery point further in the future is a mistake. */
const MAX_FUTURE_MS = 5 * 60_000;

/**
 * Recovery points: the backups of a service, recorded by the backup job
 * itself (`ninefold-agent recovery-point` at the end of it), so the age of
 * the newest one can be held against the service's RPO.
 */
@Injectable()
export class RecoveryPointsService {
  constructor(private readonly prisma: PrismaService) {}

  async record(input: { service: string; at: Date; location?: string }, recordedBy: string | null): Promise<RecoveryPointView> {
    if (input.at.getTime() > Date.now() + MAX_FUTURE_MS) {
      throw new DomainError(ErrorCode.Invalid, [`at ${input.at.toISOString()} is in the future; a recovery point is the time the backed-up data was taken`]);
    }
    const service = await this.prisma.service.findUnique({ where: { name: input.service }, select: { id: true } });
    if (!service) throw new DomainError(ErrorCode.NotFound, `unknown service ${input.service}: declare it (POST /api/v1/services) or let its agents heartbeat first`);
    const row = await this.prisma.recoveryPoint.create({
      data: { serviceId: service.id, at: input.at, location: input.location ?? null, recordedBy },
    });
    return view(row, input.service);
  }

  /** Newest first (by the time the data was taken). */
  async list(service: string | undefined, limit: number, cursor?: string): Promise<{ items: RecoveryPointView[]; nextCursor: string | null }> {
    const rows = await this.prisma.recoveryPoint.findMany({
      where: service ? { service: { name: service } } : undefined,
      include: { service: { select: { name: true } } },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      ...afterId(cursor),
    });
    const page = pageOf(rows, limit, (r) => r.id);
    return { items: page.items.map((r) => view(r, r.service.name)), nextCursor: page.nextCursor };
  }
}

function view(row: { id: string; at: Date; location: string | null; recordedAt: Date }, service: string): RecoveryPointView {
  return { id: row.id, service, at: row.at.toISOString(), location: row.location, recordedAt: row.recordedAt.toISOString() };
}
