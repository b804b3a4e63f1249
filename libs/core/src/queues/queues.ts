/**
 * BullMQ queues of Ninefold. Names live here, next to their payload types, so
 * producers (api) and consumers (worker) agree; later features add theirs.
 */
export const QueueName = {
  /** Housekeeping run by the elected leader (retention, pruning). */
  Maintenance: 'maintenance',
  /** Pull checks: one job per run, spread over the workers (each run by exactly one). */
  Checks: 'checks',
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

export const CheckJob = {
  Run: 'run-check',
} as const;

export interface RunCheckPayload {
  checkId: string;
}

/** A check run is not retried (the next interval runs it again) nor kept. */
export const CHECK_JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: { count: 100 } } as const;

/** Retries, backoff and retention of every job, set in one place. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;
