import { Injectable } from '@nestjs/common';
import type { Prisma } from '../database/generated/client.js';
import { PrismaService } from '../database/prisma.service.js';

export interface AuditEntry {
  actorKeyId: string | null;
  action: string;
  targetType: string;
  targetId?: string;
  requestId?: string;
  details?: Record<string, unknown>;
}

/** Append-only record of administrative actions. Write it in the same transaction as the action. */
@Injectable()
export class AuditService {
  constructor(private readonly prisma: PrismaService) {}

  async record(entry: AuditEntry, tx: Prisma.TransactionClient = this.prisma): Promise<void> {
    await tx.auditLog.create({
      data: {
        actorKeyId: entry.actorKeyId,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        requestId: entry.requestId,
        details: (entry.details ?? undefined) as Prisma.InputJsonValue | undefined,
      },
    });
  }
}
