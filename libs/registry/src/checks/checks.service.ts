import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { afterId, CHECK_JOB_OPTIONS, CheckJob, DomainError, ErrorCode, pageOf, PrismaService, QueueName, type RunCheckPayload } from '#core';
import { RegistryService } from '../registry.service.js';
import { type CheckIdentity, CheckResults, type CheckStatus } from './check-results.service.js';
import { splitHostPort } from './check-runner.js';

/** A check's interval when none is given: the agent's heartbeat interval default. */
export const DEFAULT_CHECK_INTERVAL_SECONDS = 10;

/** A check's timeout when none is given, as the agent's local checks have it: 2 s, or half the interval when that is shorter. */
export function defaultCheckTimeoutMs(intervalSeconds: number): number {
  return Math.min(2000, intervalSeconds * 500);
}

export interface CheckSpecInput {
  service: string;
  instance?: string;
  type: 'http' | 'tcp';
  target: string;
  /** Default {@link DEFAULT_CHECK_INTERVAL_SECONDS}. */
  intervalSeconds?: number;
  /** Default {@link defaultCheckTimeoutMs} of the interval. */
  timeoutMs?: number;
  expectStatus?: number;
  expectBody?: string;
  retries?: number;
  runOn?: 'worker' | 'probers';
}

export interface CheckView {
  id: string;
  service: string;
  instance: string;
  type: 'http' | 'tcp';
  target: string;
  intervalSeconds: number;
  timeoutMs: number;
  expectStatus: number | null;
  expectBody: string | null;
  retries: number;
  runOn: 'worker' | 'probers';
  createdAt: string;
  last: CheckStatus | null;
}

/** A check as Postgres holds it, with its service's name. */
type CheckRow = Omit<CheckView, 'service' | 'createdAt' | 'last'> & { createdAt: Date; service: { name: string } };

/** Where a target lives: host and port, and a default instance name for it. */
export function targetPlacement(type: 'http' | 'tcp', target: string): { host: string; port: number; instance: string } {
  let host: string;
  let port: number;
  if (type === 'tcp') {
    ({ host, port } = splitHostPort(target));
  } else {
    const u = new URL(target);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  }
  const instance = `${host}-${port}`.toLowerCase().replace(/[^a-z0-9._-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63) || 'target';
  return { host, port, instance };
}

/**
 * Pull checks: stored in Postgres, each scheduled as a BullMQ job scheduler
 * (`every` its interval), so every run is one job that exactly one worker
 * takes, and runs spread over however many workers there are.
 */
@Injectable()
export class ChecksService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly registry: RegistryService,
    private readonly results: CheckResults,
    @InjectQueue(QueueName.Checks) private readonly queue: Queue<RunCheckPayload>,
  ) {}

  async create(spec: CheckSpecInput): Promise<CheckView> {
    validateTarget(spec.type, spec.target);
    const where = targetPlacement(spec.type, spec.target);
    const instance = spec.instance ?? where.instance;
    const intervalSeconds = spec.intervalSeconds ?? DEFAULT_CHECK_INTERVAL_SECONDS;
    // The instance is declared (not self-registered): it stays while its check exists.
    await this.registry.registerInstance(spec.service, { id: instance, address: where.host, port: where.port, intervalSeconds });
    const service = await this.prisma.service.findUniqueOrThrow({ where: { name: spec.service }, select: { id: true } });
    const data = {
      type: spec.type,
      target: spec.target,
      intervalSeconds,
      timeoutMs: spec.timeoutMs ?? defaultCheckTimeoutMs(intervalSeconds),
      expectStatus: spec.expectStatus ?? null,
      expectBody: spec.expectBody ?? null,
      retries: spec.retries ?? 1,
      runOn: spec.runOn ?? 'worker',
    };
    const row = await this.prisma.check.upsert({
      where: { serviceId_instance_type_target: { serviceId: service.id, instance, type: spec.type, target: spec.target } },
      create: { serviceId: service.id, instance, ...data },
      update: data,
      include: { service: { select: { name: true } } },
    });
    await this.queue.upsertJobScheduler(`check:${row.id}`, { every: row.intervalSeconds * 1000 }, { name: CheckJob.Run, data: { checkId: row.id }, opts: CHECK_JOB_OPTIONS });
    return this.view(row);
  }

  async list(limit: number, cursor?: string, service?: string): Promise<{ items: CheckView[]; nextCursor: string | null }> {
    const rows = await this.prisma.check.findMany({
      where: service ? { service: { name: service } } : undefined,
      include: { service: { select: { name: true } } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      ...afterId(cursor),
    });
    const page = pageOf(rows, limit, (r) => r.id);
    return { items: await Promise.all(page.items.map((r) => this.view(r))), nextCursor: page.nextCursor };
  }

  async get(id: string): Promise<CheckView> {
    const row = await this.prisma.check.findUnique({ where: { id }, include: { service: { select: { name: true } } } });
    if (!row) throw new DomainError(ErrorCode.NotFound, `check ${id} not found`);
    return this.view(row);
  }

  async remove(id: string): Promise<void> {
    const row = await this.prisma.check.findUnique({ where: { id }, select: { id: true } });
    if (!row) throw new DomainError(ErrorCode.NotFound, `check ${id} not found`);
    await this.queue.removeJobScheduler(`check:${id}`);
    await this.prisma.check.delete({ where: { id } });
    await this.results.forget(id);
  }

  /** What a run needs: the check and the identity its results are reported under; null when it was deleted. */
  async forRun(id: string): Promise<{ spec: { type: 'http' | 'tcp'; target: string; timeoutMs: number; expectStatus: number | null; expectBody: string | null }; identity: CheckIdentity; runOn: 'worker' | 'probers' } | null> {
    const row = await this.prisma.check.findUnique({ where: { id }, include: { service: { select: { name: true } } } });
    if (!row) return null;
    const where = targetPlacement(row.type, row.target);
    return {
      spec: { type: row.type, target: row.target, timeoutMs: row.timeoutMs, expectStatus: row.expectStatus, expectBody: row.expectBody },
      identity: { id: row.id, service: row.service.name, instance: row.instance, intervalSeconds: row.intervalSeconds, retries: row.retries, address: where.host, port: where.port },
      runOn: row.runOn,
    };
  }

  private async view(row: CheckRow): Promise<CheckView> {
    return {
      id: row.id,
      service: row.service.name,
      instance: row.instance,
      type: row.type,
      target: row.target,
      intervalSeconds: row.intervalSeconds,
      timeoutMs: row.timeoutMs,
      expectStatus: row.expectStatus,
      expectBody: row.expectBody,
      retries: row.retries,
      runOn: row.runOn,
      createdAt: row.createdAt.toISOString(),
      last: await this.results.last(row.id),
    };
  }
}

function validateTarget(type: 'http' | 'tcp', target: string): void {
  if (type === 'tcp') {
    try {
      splitHostPort(target);
    } catch {
      throw new DomainError(ErrorCode.Invalid, ['target must be host:port for a tcp check']);
    }
    return;
  }
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    throw new DomainError(ErrorCode.Invalid, ['target must be an http:// or https:// URL for an http check']);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new DomainError(ErrorCode.Invalid, ['target must be an http:// or https:// URL for an http check']);
}
