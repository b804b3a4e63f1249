/**
 * BullMQ queues of Ninefold. Names live here, next to their payload types, so
 * producers (api) and consumers (worker) agree; later features add theirs.
 */
export const QueueName = {
  /** Housekeeping run by the elected leader (retention, pruning). */
  Maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const MaintenanceJob = {
  PruneAuditLog: 'prune-audit-log',
} as const;
export type MaintenanceJob = (typeof MaintenanceJob)[keyof typeof MaintenanceJob];

export interface PruneAuditLogPayload {
  /** Entries older than this many days are deleted. */
  olderThanDays: number;
}

/** Retries, backoff and retention of every job, set in one place. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;
