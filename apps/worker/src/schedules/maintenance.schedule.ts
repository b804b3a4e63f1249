import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import type { Queue } from 'bullmq';
import { type LeaderElection, LeaderElectionService, MaintenanceJob, type PruneAuditLogPayload, QueueName } from '#core';

/** Audit entries are kept this long. */
const AUDIT_RETENTION_DAYS = 400;

/**
 * Enqueues housekeeping once a day. Every worker runs the cron; only the
 * elected "scheduler" leader enqueues, and the job id is per day, so even a
 * leader change at midnight enqueues the job once.
 */
@Injectable()
export class MaintenanceSchedule implements OnApplicationBootstrap {
  private scheduler!: LeaderElection;

  constructor(
    private readonly leaders: LeaderElectionService,
    @InjectQueue(QueueName.Maintenance) private readonly queue: Queue<PruneAuditLogPayload>,
  ) {}

  onApplicationBootstrap(): void {
    this.scheduler = this.leaders.elect('scheduler');
  }

  @Cron(CronExpression.EVERY_HOUR)
  async enqueue(): Promise<void> {
    if (!this.scheduler.isLeader) return;
    const day = new Date().toISOString().slice(0, 10);
    await this.queue.add(MaintenanceJob.PruneAuditLog, { olderThanDays: AUDIT_RETENTION_DAYS }, { jobId: `${MaintenanceJob.PruneAuditLog}:${day}` });
  }
}
