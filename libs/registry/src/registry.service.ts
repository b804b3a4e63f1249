import { Injectable } from '@nestjs/common';
import { checkCursor, DomainError, ErrorCode, pageOf, PrismaService, RedisService, TtlCache } from '#core';
import { NAME_PATTERN } from './heartbeat.js';
import { type ClusterLeader, ClusterWatch } from './cluster-watch.service.js';
import { availabilityOver, composeAvailability, type StateSpan } from './availability.js';
import { isFlapping } from './detection.js';
import { newRecord, timings } from './instance-state.js';
import { InstanceStore, type StoredInstance } from './instance-store.js';
import { countMembers, evaluateQuorum, type QuorumRule, survives, type Survives } from './quorum.js';
import { MaintenanceService } from './maintenance.service.js';
import { StateHistoryRepository } from './state-history.repository.js';

/** How long a deregistration outweighs heartbeats received before it (far longer than any ingest backlog should last). */
export const DEREGISTERED_TOMBSTONE_MS = 15 * 60_000;

/** Redis key holding when an instance was deregistered (ms), for {@link DEREGISTERED_TOMBSTONE_MS}. */
export function deregisteredKey(redis: RedisService, service: string, instance: string): string {
  return redis.key('registry', 'deregistered', service, instance);
}

export interface ServiceSpec {
  description?: string | null;
  tier?: string | null;
  dependsOn?: string[][];
  survivalGoal?: 'node' | 'zone' | 'region' | null;
  quorum?: QuorumRule;
  minHealthy?: number;
  detector?: 'fixed' | 'phi';
  phiThreshold?: number;
  /** Shown on the public status page (default true). */
  public?: boolean;
}

export interface InstanceSpec {
  id: string;
  address: string;
  port?: number | null;
  zone?: string | null;
  region?: string | null;
  meta?: Record<string, string> | null;
  ttlSeconds?: number | null;
  intervalSeconds?: number | null;
  graceSeconds?: number | null;
}

/** An instance as the API shows it. */
export interface InstanceView {
  id: string;
  service: string;
  address: string | null;
  port: number | null;
  zone: string | null;
  region: string | null;
  meta: Record<string, string> | null;
  state: 'UP' | 'SUSPECT' | 'DOWN' | 'UNKNOWN';
  status: 'up' | 'degraded' | 'down' | null;
  since: string;
  reason: string | null;
  lastSeenAt: string | null;
  ttlSeconds: number;
  graceSeconds: number;
  /** Changing state too often lately (flap damping). */
  flapping: boolean;
  /** Silent, but reachable from probers: its heartbeats' path is broken. */
  partitioned: boolean;
}

/** Share of the known time not DOWN, per window (null: nothing known in the window). */
export type AvailabilityWindows = Record<'1h' | '24h' | '7d' | '30d' | '90d', number | null>;

/** An instance as its service's view lists it: with its own availability. */
export interface ServiceInstanceView extends InstanceView {
  /** The instance's own availability (SUSPECT counts as up; its service's maintenance is left out). */
  availability: AvailabilityWindows;
}

/** An SLO as a service lists it. */
export interface SloSummary {
  id: string;
  name: string;
  objective: number;
  sli: { type: string; thresholdMs?: number };
  window: string;
  windowDays: number;
  /** Share of the error budget left at the leader's last evaluation (null: not evaluated yet, or no data). */
  budgetRemaining: number | null;
  /** Alert rules firing then, as "<severity>:<longWindow>". */
  firing: string[];
  evaluatedAt: string | null;
}

/** The error budget a service shows: its SLO with the least left (null while none is evaluated). */
function tightestBudget(slos: SloSummary[]): { remaining: number; slo: string } | null {
  let best: { remaining: number; slo: string } | null = null;
  for (const o of slos) if (o.budgetRemaining !== null && (best === null || o.budgetRemaining < best.remaining)) best = { remaining: o.budgetRemaining, slo: o.name };
  return best;
}

export interface ServiceView {
  name: string;
  description: string | null;
  tier: string | null;
  dependsOn: string[][];
  survivalGoal: 'node' | 'zone' | 'region' | null;
  survivalGoalMet: boolean | null;
  quorum: QuorumRule;
  minHealthy: number;
  detector: 'fixed' | 'phi';
  state: 'UP' | 'DEGRADED' | 'DOWN' | 'UNKNOWN';
  stateSince: string;
  stateReason: string | null;
  canLose: number;
  survives: Survives;
  /** The current leader, for consensus clusters whose members report role/term. */
  leader: ClusterLeader | null;
  /** Share of the known time the service was not DOWN, per window (null: no data in the window). */
  availability: AvailabilityWindows;
  /** 30-day availability together with its dependencies (dependsOn: groups in sequence, members in parallel). */
  composite30d: number | null;
  /** SLOs of the service (defined with POST /api/v1/slos; their figures at GET /api/v1/slos/:id). */
  slos: SloSummary[];
  /** The error budget of its tightest SLO, as last evaluated (null while none is). */
  budget: { remaining: number; slo: string } | null;
  /** The maintenance window it is in now (its time is left out of availability), or null. */
  maintenance: { id: string; from: string; to: string; reason: string | null } | null;
  selfRegistered: boolean;
  /** Shown on the public status page. */
  public: boolean;
  instances: ServiceInstanceView[];
  createdAt: string;
}

/** A service's view with its instances' live state only (the overview counts them). */
type ServiceViewWithout = Omit<ServiceView, 'instances'> & { instances: InstanceView[] };

export interface OverviewItem {
  name: string;
  tier: string | null;
  public: boolean;
  state: ServiceView['state'];
  stateSince: string;
  stateReason: string | null;
  instances: { total: number; up: number; suspect: number; down: number; flapping: number };
  availability: ServiceView['availability'];
  composite30d: number | null;
  canLose: number;
  survives: Survives;
  survivalGoal: ServiceView['survivalGoal'];
  survivalGoalMet: boolean | null;
  leader: ClusterLeader | null;
  budget: { remaining: number; slo: string } | null;
}

export interface OverviewView {
  totals: {
    services: Record<ServiceView['state'], number>;
    instances: Record<InstanceView['state'], number>;
    openSignals: Record<'info' | 'warning' | 'critical', number>;
  };
  items: OverviewItem[];
  nextCursor: string | null;
}

/** The registry as the API serves it: services, their instances' live state (Redis), registration and discovery. */
@Injectable()
export class RegistryService {
  private readonly serviceIds = new TtlCache<string, string>(10_000);
  private readonly roundRobin = new Map<string, number>();

  constructor(
    private readonly prisma: PrismaService,
    private readonly store: InstanceStore,
    private readonly redis: RedisService,
    private readonly clusters: ClusterWatch,
    private readonly history: StateHistoryRepository,
    private readonly maintenance: MaintenanceService,
  ) {}

  /** Creates or updates a service (declaring a self-registered one makes it declared). */
  async upsertService(name: string, spec: ServiceSpec): Promise<{ view: ServiceView; created: boolean }> {
    const data = {
      description: spec.description,
      tier: spec.tier,
      dependsOn: spec.dependsOn,
      survivalGoal: spec.survivalGoal,
      quorum: spec.quorum,
      minHealthy: spec.minHealthy,
      detector: spec.detector,
      phiThreshold: spec.phiThreshold,
      public: spec.public,
      selfRegistered: false,
    };
    const existing = await this.prisma.service.findUnique({ where: { name }, select: { id: true } });
    const row = existing ? await this.prisma.service.update({ where: { name }, data }) : await this.prisma.service.create({ data: { name, ...data } });
    // The workers cache detector settings per instance: make them reload.
    await this.announce(name, '*');
    return { view: (await this.views([row]))[0], created: !existing };
  }

  async listServices(limit: number, cursor?: string): Promise<{ items: ServiceView[]; nextCursor: string | null }> {
    const page = await this.page(limit, cursor);
    return { items: await this.views(page.items), nextCursor: page.nextCursor };
  }

  private async page(limit: number, cursor?: string): Promise<{ items: ServiceRow[]; nextCursor: string | null }> {
    checkCursor(cursor, NAME_PATTERN);
    const rows = await this.prisma.service.findMany({ orderBy: { name: 'asc' }, take: limit + 1, ...(cursor ? { where: { name: { gt: cursor } } } : {}) });
    return pageOf(rows, limit, (r) => r.name);
  }

  /**
   * What a dashboard's first paint needs in one answer: per service its state,
   * instance counts, availability, survivability and leader (paged by name),
   * plus totals over all services and the open signals.
   */
  async overview(limit: number, cursor?: string): Promise<OverviewView> {
    // Instances are only counted here: their availability is not read.
    const page = await this.page(limit, cursor);
    const items = await this.views(page.items, false);
    const [byState, instances, signals] = await Promise.all([
      this.prisma.service.groupBy({ by: ['state'], _count: { _all: true } }),
      this.prisma.instance.groupBy({ by: ['state'], _count: { _all: true } }),
      this.prisma.signal.groupBy({ by: ['severity'], where: { resolvedAt: null }, _count: { _all: true } }),
    ]);
    return {
      totals: {
        services: tally(byState.map((r) => [r.state, r._count._all]), ['UP', 'DEGRADED', 'DOWN', 'UNKNOWN'] as const),
        instances: tally(instances.map((r) => [r.state, r._count._all]), ['UP', 'SUSPECT', 'DOWN', 'UNKNOWN'] as const),
        openSignals: tally(signals.map((r) => [r.severity, r._count._all]), ['info', 'warning', 'critical'] as const),
      },
      items: items.map((v) => ({
        name: v.name,
        tier: v.tier,
        public: v.public,
        state: v.state,
        stateSince: v.stateSince,
        stateReason: v.stateReason,
        instances: {
          total: v.instances.length,
          up: v.instances.filter((i) => i.state === 'UP').length,
          suspect: v.instances.filter((i) => i.state === 'SUSPECT').length,
          down: v.instances.filter((i) => i.state === 'DOWN').length,
          flapping: v.instances.filter((i) => i.flapping).length,
        },
        availability: v.availability,
        composite30d: v.composite30d,
        canLose: v.canLose,
        survives: v.survives,
        survivalGoal: v.survivalGoal,
        survivalGoalMet: v.survivalGoalMet,
        leader: v.leader,
        budget: v.budget,
      })),
      nextCursor: page.nextCursor,
    };
  }

  async getService(name: string): Promise<ServiceView> {
    const row = await this.prisma.service.findUnique({ where: { name } });
    if (!row) throw new DomainError(ErrorCode.NotFound, `service ${name} not found`);
    return (await this.views([row]))[0];
  }

  async deleteService(name: string): Promise<void> {
    const row = await this.prisma.service.findUnique({ where: { name }, select: { id: true } });
    if (!row) throw new DomainError(ErrorCode.NotFound, `service ${name} not found`);
    const ids = await this.store.memberIds(row.id);
    await this.prisma.service.delete({ where: { name } });
    // All at once (one pipeline): a service of thousands of instances leaves live state in one go, not one round trip each.
    await Promise.all(ids.map((id) => this.store.remove(id, row.id)));
    this.serviceIds.delete(name);
    await this.announce(name, '*');
  }

  /** Registers (or updates) an instance; the service is created when missing. */
  async registerInstance(service: string, spec: InstanceSpec): Promise<{ view: InstanceView; created: boolean }> {
    const svc = await this.prisma.service.upsert({ where: { name: service }, create: { name: service }, update: {}, select: { id: true } });
    const data = {
      address: spec.address,
      port: spec.port ?? null,
      zone: spec.zone ?? null,
      region: spec.region ?? null,
      meta: spec.meta ?? undefined,
      ttlSeconds: spec.ttlSeconds ?? null,
      graceSeconds: spec.graceSeconds ?? null,
      ...(spec.intervalSeconds ? { intervalSeconds: spec.intervalSeconds } : {}),
      selfRegistered: false,
    };
    const existing = await this.prisma.instance.findUnique({ where: { serviceId_name: { serviceId: svc.id, name: spec.id } }, select: { id: true } });
    const row = existing
      ? await this.prisma.instance.update({ where: { id: existing.id }, data })
      : await this.prisma.instance.create({ data: { serviceId: svc.id, name: spec.id, ...data } });
    const t = timings(row.intervalSeconds, row.ttlSeconds, row.graceSeconds);
    const placement = { serviceId: svc.id, service, name: spec.id, address: row.address, port: row.port, zone: row.zone, region: row.region, meta: (row.meta as Record<string, string> | null) ?? null };
    // The live record: created with its service membership, or given the new placement and timings at once (not from the next heartbeat on).
    const { conflicts } = await this.store.updateEach(
      [row.id],
      async (id, cur) => {
        if (!cur) {
          await this.store.addMember(svc.id, id);
          return { record: newRecord(Date.now(), t), placement };
        }
        const retimed = cur.record.ttlMs !== t.ttlMs || cur.record.graceMs !== t.graceMs;
        const deadlineMs = retimed && cur.record.state === 'UP' ? cur.record.lastSeenMs + t.ttlMs : cur.record.deadlineMs;
        return { record: { ...cur.record, ...t, deadlineMs }, placement };
      },
      5,
    );
    if (conflicts.length > 0) throw new DomainError(ErrorCode.Conflict, `instance ${service}/${spec.id} is changing too fast; retry`);
    await this.announce(service, spec.id);
    const stored = (await this.store.load([row.id])).get(row.id);
    if (!stored) throw new Error(`instance ${service}/${spec.id} vanished while registering`);
    const view = instanceView(stored, service);
    return { view, created: !existing };
  }

  /** One instance of a service, with its own availability; 404 when either is unknown. */
  async getInstance(service: string, id: string): Promise<ServiceInstanceView> {
    const serviceId = await this.serviceId(service);
    const row = await this.prisma.instance.findUnique({ where: { serviceId_name: { serviceId, name: id } }, select: { id: true } });
    const stored = row ? (await this.store.load([row.id])).get(row.id) : undefined;
    if (!stored) throw new DomainError(ErrorCode.NotFound, `instance ${id} of service ${service} not found`);
    const now = Date.now();
    return withAvailability(instanceView(stored, service), stored.id, await this.history.instanceSpans([stored.id], now - 90 * DAY_MS, now), now);
  }

  async deregisterInstance(service: string, id: string): Promise<void> {
    const svc = await this.prisma.service.findUnique({ where: { name: service }, select: { id: true } });
    if (!svc) throw new DomainError(ErrorCode.NotFound, `service ${service} not found`);
    const inst = await this.prisma.instance.findUnique({ where: { serviceId_name: { serviceId: svc.id, name: id } }, select: { id: true } });
    if (!inst) throw new DomainError(ErrorCode.NotFound, `instance ${id} of service ${service} not found`);
    // Heartbeats it sent just before (an agent's last ones on its way out) may still be in the
    // ingest stream: the tombstone keeps them from registering the instance again.
    await this.redis.client.set(deregisteredKey(this.redis, service, id), String(Date.now()), 'PX', DEREGISTERED_TOMBSTONE_MS);
    await this.prisma.instance.delete({ where: { id: inst.id } });
    await this.store.remove(inst.id, svc.id);
    await this.announce(service, id);
  }

  /** Instances of a service from live state: the healthy ones (UP), or every one with `all`. */
  async discover(service: string, all: boolean): Promise<InstanceView[]> {
    const serviceId = await this.serviceId(service);
    const instances = await this.instancesOf(serviceId, service);
    return all ? instances : instances.filter((i) => i.state === 'UP');
  }

  /** One healthy instance, round-robin, the caller's zone first; 503 when none is healthy. */
  async resolve(service: string, zone?: string): Promise<InstanceView> {
    const healthy = (await this.discover(service, false)).sort((a, b) => a.id.localeCompare(b.id));
    if (healthy.length === 0) throw new DomainError(ErrorCode.Unavailable, `service ${service} has no healthy instance`, 5);
    const local = zone ? healthy.filter((i) => i.zone === zone) : [];
    const pool = local.length > 0 ? local : healthy;
    const key = `${service}|${local.length > 0 ? zone : ''}`;
    const n = this.roundRobin.get(key) ?? 0;
    this.roundRobin.set(key, (n + 1) % 1_000_000_000);
    if (this.roundRobin.size > 100_000) this.roundRobin.clear();
    return pool[n % pool.length];
  }

  /** A service's id by name (cached for 30 s); 404 when there is none. */
  async serviceId(name: string): Promise<string> {
    const cached = this.serviceIds.get(name);
    if (cached) return cached;
    const row = await this.prisma.service.findUnique({ where: { name }, select: { id: true } });
    if (!row) throw new DomainError(ErrorCode.NotFound, `service ${name} not found`);
    this.serviceIds.set(name, row.id, 30_000);
    return row.id;
  }

  private async instancesOf(serviceId: string, service: string): Promise<InstanceView[]> {
    return (await this.storedOf(serviceId)).map((s) => instanceView(s, service));
  }

  /** A service's instances as Redis holds them, by name. */
  private async storedOf(serviceId: string): Promise<StoredInstance[]> {
    const stored = await this.store.load(await this.store.memberIds(serviceId));
    return [...stored.values()].sort((a, b) => a.placement.name.localeCompare(b.placement.name));
  }

  /**
   * Views of a page of services. State history (for availability) is read
   * once for the whole page, its instances (unless `instanceAvailability` is
   * false) and the services it depends on, not per service.
   */
  private views(rows: ServiceRow[]): Promise<ServiceView[]>;
  private views(rows: ServiceRow[], instanceAvailability: false): Promise<ServiceViewWithout[]>;
  private async views(rows: ServiceRow[], instanceAvailability = true): Promise<(ServiceView | ServiceViewWithout)[]> {
    const now = Date.now();
    const depNames = [...new Set(rows.flatMap((r) => dependsOnOf(r).flat()))];
    const deps = depNames.length > 0 ? await this.prisma.service.findMany({ where: { name: { in: depNames } }, select: { id: true, name: true } }) : [];
    const members = await Promise.all(rows.map((r) => this.storedOf(r.id)));
    const [spans, instanceSpans, sloRows, maintenance] = await Promise.all([
      this.spans([...rows.map((r) => r.id), ...deps.map((d) => d.id)], now),
      instanceAvailability ? this.history.instanceSpans(members.flat().map((m) => m.id), now - 90 * DAY_MS, now) : null,
      this.prisma.slo.findMany({ where: { serviceId: { in: rows.map((r) => r.id) } }, orderBy: { name: 'asc' }, select: { id: true, serviceId: true, name: true, objective: true, sliType: true, thresholdMs: true, window: true, windowDays: true, budgetRemaining: true, firing: true, evaluatedAt: true } }),
      this.maintenance.active(rows.map((r) => r.id)),
    ]);
    const depIds = new Map(deps.map((d) => [d.name, d.id]));
    const slos = new Map<string, SloSummary[]>();
    for (const o of sloRows) {
      const list = slos.get(o.serviceId) ?? [];
      list.push({ id: o.id, name: o.name, objective: o.objective, sli: o.sliType === 'latency' && o.thresholdMs !== null ? { type: o.sliType, thresholdMs: o.thresholdMs } : { type: o.sliType }, window: o.window, windowDays: o.windowDays, budgetRemaining: o.budgetRemaining, firing: o.firing, evaluatedAt: o.evaluatedAt?.toISOString() ?? null });
      slos.set(o.serviceId, list);
    }
    return Promise.all(
      rows.map((r, i) => {
        const instances = members[i].map((m) => (instanceSpans ? withAvailability(instanceView(m, r.name), m.id, instanceSpans, now) : instanceView(m, r.name)));
        return this.view(r, instances, spans, depIds, now, slos.get(r.id) ?? [], maintenance.get(r.id) ?? null);
      }),
    );
  }

  private async view<I extends InstanceView>(row: ServiceRow, instances: I[], spans: Map<string, StateSpan[]>, depIds: Map<string, string>, now: number, slos: SloSummary[], maintenance: ServiceView['maintenance']): Promise<Omit<ServiceView, 'instances'> & { instances: I[] }> {
    const verdict = evaluateQuorum(row.quorum, countMembers(instances.map((i) => i.state)), row.minHealthy);
    const s = survives(
      row.quorum,
      instances.map((i) => ({ state: i.state, node: i.address, zone: i.zone, region: i.region })),
      row.minHealthy,
    );
    const dependsOn = dependsOnOf(row);
    return {
      name: row.name,
      description: row.description,
      tier: row.tier,
      dependsOn,
      survivalGoal: row.survivalGoal,
      survivalGoalMet: row.survivalGoal ? s[row.survivalGoal] : null,
      quorum: row.quorum,
      minHealthy: row.minHealthy,
      detector: row.detector,
      state: row.state,
      stateSince: row.stateSince.toISOString(),
      stateReason: row.stateReason,
      canLose: verdict.canLose,
      survives: s,
      leader: await this.clusters.leaderOf(row.id),
      ...availabilityOf(spans.get(row.id) ?? [], dependsOn.map((g) => g.map((n) => (depIds.has(n) ? (spans.get(depIds.get(n)!) ?? []) : null))), now),
      slos,
      budget: tightestBudget(slos),
      maintenance,
      selfRegistered: row.selfRegistered,
      public: row.public,
      instances,
      createdAt: row.createdAt.toISOString(),
    };
  }

  /** State spans of the last 90 days per service. */
  private spans(serviceIds: string[], now: number): Promise<Map<string, StateSpan[]>> {
    return this.history.spans(serviceIds, now - 90 * DAY_MS, now);
  }

  /** Tells the workers to forget what they cached of an instance (`*`: of the whole service). */
  private async announce(service: string, instance: string): Promise<void> {
    await this.redis.client.publish(this.redis.key('registry', 'changed'), `${service}/${instance}`);
  }
}

/** The columns of a service row the views read. */
interface ServiceRow {
  id: string;
  name: string;
  description: string | null;
  tier: string | null;
  dependsOn: unknown;
  survivalGoal: 'node' | 'zone' | 'region' | null;
  quorum: QuorumRule;
  minHealthy: number;
  detector: 'fixed' | 'phi';
  state: 'UP' | 'DEGRADED' | 'DOWN' | 'UNKNOWN';
  stateSince: Date;
  stateReason: string | null;
  selfRegistered: boolean;
  public: boolean;
  createdAt: Date;
}

function dependsOnOf(row: ServiceRow): string[][] {
  return Array.isArray(row.dependsOn) ? (row.dependsOn as string[][]) : [];
}

const DAY_MS = 86_400_000;

/**
 * Availability per window from a service's state spans, and over 30 days
 * composed with its dependencies' (groups in sequence, members in parallel;
 * null for a dependency that does not exist). A dependency without data makes
 * the composite unknown rather than optimistic.
 */
function availabilityOf(spans: StateSpan[], deps: (StateSpan[] | null)[][], now: number): Pick<ServiceView, 'availability' | 'composite30d'> {
  const availability = windowsOf(spans, now);
  let composite30d: number | null = availability['30d'];
  if (composite30d !== null && deps.length > 0) {
    const groups = deps.map((g) => g.map((d) => (d ? availabilityOver(d, now - 30 * DAY_MS, now).availability : null)));
    composite30d = groups.some((g) => g.some((v) => v === null)) ? null : composeAvailability(composite30d, groups as number[][]);
  }
  return { availability, composite30d };
}

/** An instance's view with its own availability, from the state spans read for it (by its row id). */
function withAvailability(view: InstanceView, id: string, spans: Map<string, StateSpan[]>, now: number): ServiceInstanceView {
  return { ...view, availability: windowsOf(spans.get(id) ?? [], now) };
}

/** Availability over the windows up to `now` from state spans. */
function windowsOf(spans: StateSpan[], now: number): AvailabilityWindows {
  const over = (ms: number) => availabilityOver(spans, now - ms, now).availability;
  return { '1h': over(3_600_000), '24h': over(DAY_MS), '7d': over(7 * DAY_MS), '30d': over(30 * DAY_MS), '90d': over(90 * DAY_MS) };
}

/** Counts by key, every one of `keys` present (0 when absent). */
function tally<K extends string>(rows: [string, number][], keys: readonly K[]): Record<K, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const [k, n] of rows) if (k in out) out[k as K] += n;
  return out;
}

function instanceView(s: StoredInstance, service: string): InstanceView {
  const r = s.record;
  return {
    id: s.placement.name,
    service,
    address: s.placement.address,
    port: s.placement.port,
    zone: s.placement.zone,
    region: s.placement.region,
    meta: s.placement.meta ?? null,
    state: r.state,
    status: r.status,
    since: new Date(r.sinceMs).toISOString(),
    reason: r.reason,
    lastSeenAt: r.lastSeenMs > 0 ? new Date(r.lastSeenMs).toISOString() : null,
    ttlSeconds: r.ttlMs / 1000,
    graceSeconds: r.graceMs / 1000,
    flapping: isFlapping(s.flap, Date.now()),
    partitioned: r.partitioned,
  };
}
