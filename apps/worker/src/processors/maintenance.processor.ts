import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { MaintenanceJob, type PruneAuditLogPayload, PrismaService, QueueName } from '#core';

/** Housekeeping jobs. Idempotent: running one twice deletes nothing more. */
@Processor(QueueName.Maintenance)
export class MaintenanceProcessor extends WorkerHost {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(private readonly prisma: PrismaService) {
    super();
  }

  async process(job: Job<PruneAuditLogPayload>): Promise<{ deleted: number }> {
    switch (job.name) {
      case MaintenanceJob.PruneAuditLog: {
        const before = new Date(Date.now() - job.data.olderThanDays * 86_400_000);
        const { count } = await this.prisma.auditLog.deleteMany({ where: { at: { lt: before } } });
        if (count > 0) this.logger.log({ deleted: count, before: before.toISOString() }, 'pruned audit log');
        return { deleted: count };
      }
      default:
        throw new Error(`unknown maintenance job ${job.name}`);
    }
  }
}
