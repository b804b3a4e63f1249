import { Injectable } from '@nestjs/common';
import { checkCursor, DomainError, ErrorCode, pageOf, PrismaService, SqlPool } from '#core';
import { availabilityOver, firstKnownMs, StateHistoryRepository, type StateSpan } from '#registry';
import { type SloWindow, windowOf } from './window.js';
import { type AlertState, BURN_WINDOWS, type BurnWindow, burnRate, errorBudget, evaluateAlerts, policyFor, type WindowCounts } from './burn-rate.js';
import { dailyCounts, type Measure, queryRequestCounts, type Queryable, type RequestCounts, REQUESTS, type SeriesGroup, seriesOf } from './request-counts.js';

export type SliType = 'availability' | 'requests' | 'latency';

export interface SloSpec {
  service: string;
  name: string;
  objective: number;
  windowDays?: number;
  window?: SloWindow;
  /** `thresholdMs`: latency SLIs only (required there). */
  sli: { type: SliType; thresholdMs?: number };
  minEvents?: number;
  description?: string;
}

/** An SLO with its figures, as GET /api/v1/slos/:id shows it. */
export interface SloView {
  id: string;
  service: string;
  name: string;
  description: string | null;
  objective: number;
  window: SloWindow;
  /** Days of a rolling window; for a calendar month, the days of the current month. */
  windowDays: number;
  minEvents: number;
  /** What is counted, and what was measured over the window so far. Time-based SLIs count seconds. */
  sli: { type: SliType; thresholdMs?: number; value: number | null; good: number; total: number };
  windowStart: string;
  evaluatedAt: string;
  errorBudget: { allowedSeconds?: number; allowedEvents?: number; consumed: number; remaining: number | null };
  burnRates: Record<BurnWindow, number | null>;
  alerts: AlertState[];
  createdAt: string;
}

export interface SloRow {
  id: string;
  serviceId: string;
  name: string;
  description: string | null;
  objective: number;
  sliType: SliType;
  /** Latency SLIs: the most a good request may take. */
  thresholdMs: number | null;
  window: SloWindow;
  windowDays: number;
  minEvents: number;
  createdAt: Date;
  service: { name: string };
}

const LONGEST_BURN_MS = BURN_WINDOWS['3d'] * 1000;
const DAY_MS = 86_400_000;

/** SLO definitions and their figures: SLI, error budget, burn rates and multi-window alerts. */
@Injectable()
export class SloService {
  /** The clock; replaceable in tests. */
  now: () => number = Date.now;

  constructor(
    private readonly prisma: PrismaService,
    private readonly sql: SqlPool,
    private readonly history: StateHistoryRepository,
  ) {}

  /** Runs `fn` in one transaction (for request counts read in one snapshot). */
  readonly transaction = <T>(fn: (db: Queryable) => Promise<T>): Promise<T> => this.sql.transaction((client) => fn(client as unknown as Queryable));

  /** Creates an SLO, or updates the one of that service with that name. */
  async upsert(spec: SloSpec): Promise<{ view: SloView; created: boolean }> {
    if (spec.sli.type !== 'latency' && spec.sli.thresholdMs !== undefined) throw new DomainError(ErrorCode.Invalid, [`sli.thresholdMs applies to latency SLIs only, not ${spec.sli.type}`]);
    if (spec.sli.type === 'latency' && spec.sli.thresholdMs === undefined) throw new DomainError(ErrorCode.Invalid, ['sli.thresholdMs is required for a latency SLI']);
    const service = await this.prisma.service.findUnique({ where: { name: spec.service }, select: { id: true } });
    if (!service) throw new DomainError(ErrorCode.NotFound, `service ${spec.service} not found: declare it or send a heartbeat first`);
    const data = {
      objective: spec.objective,
      sliType: spec.sli.type,
      thresholdMs: spec.sli.type === 'latency' ? (spec.sli.thresholdMs ?? null) : null,
      window: spec.window ?? 'rolling',
      windowDays: spec.windowDays ?? 30,
      minEvents: spec.minEvents ?? 0,
      description: spec.description ?? null,
    };
    const key = { serviceId_name: { serviceId: service.id, name: spec.name } };
    const existing = await this.prisma.slo.findUnique({ where: key, select: { id: true } });
    const row = await this.prisma.slo.upsert({ where: key, create: { serviceId: service.id, name: spec.name, ...data }, update: data, include: { service: { select: { name: true } } } });
    return { view: await this.evaluate(row), created: !existing };
  }

  async get(id: string): Promise<SloView> {
    return this.evaluate(await this.row(id));
  }

  /** SLOs by service and name, with their figures (`service`: of one service only). */
  async list(limit: number, cursor?: string, service?: string): Promise<{ items: SloView[]; nextCursor: string | null }> {
    checkCursor(cursor);
    const rows = await this.prisma.slo.findMany({
      where: { ...(service ? { service: { name: service } } : {}), ...(cursor ? { id: { gt: cursor } } : {}) },
      orderBy: { id: 'asc' },
      take: limit + 1,
      include: { service: { select: { name: true } } },
    });
    const page = pageOf(rows, limit, (r) => r.id);
    return { items: await this.evaluateMany(page.items), nextCursor: page.nextCursor };
  }

  /**
   * How the error budget went down over the current window: the share left at
   * the end of each day of it (from its start) and now, oldest first, for a
   * burn-down chart. A few queries: the days of the window, and the figure now.
   */
  async budgetHistory(id: string): Promise<{ slo: string; points: { at: string; remaining: number | null }[] }> {
    const row = await this.row(id);
    const nowMs = this.now();
    const w = windowOf(row.window, row.windowDays, nowMs);
    let ends: number[] = [];
    for (let t = w.startMs + DAY_MS; t < nowMs; t += DAY_MS) ends.push(t);
    ends.push(nowMs);
    let remainingAt: (endMs: number) => number | null;
    if (row.sliType === 'availability') {
      const spans = (await this.history.spans([row.serviceId], w.startMs, nowMs)).get(row.serviceId) ?? [];
      // The window counts from the service's first heartbeat: no point before it (it would draw an untouched budget
      // for days the service did not exist), and one at it, so a young service's line starts where it does.
      const birth = firstKnownMs(spans);
      if (birth !== null && birth > w.startMs) ends = [birth, ...ends.filter((t) => t > birth)];
      remainingAt = (endMs) => {
        const a = availabilityOver(spans, w.startMs, endMs);
        return errorBudget({ total: a.knownSeconds, good: a.knownSeconds - a.downSeconds }, row.objective, timeBased(row, w)).remaining;
      };
    } else {
      // By the UTC day (request_days): each point counts the days begun before it.
      const byDay = await dailyCounts(this.sql, measureOf(row), row.serviceId, w.startMs);
      // Now: exactly the figure GET /slos/:id shows (its first hour pro rata).
      const latest = (await this.evaluateMany([row], { nowMs }))[0];
      remainingAt = (endMs) => {
        if (endMs === nowMs) return latest.errorBudget.remaining;
        let total = 0;
        let errors = 0;
        for (const d of byDay) if (d.startMs < endMs) ((total += d.total), (errors += d.errors));
        return errorBudget({ total, good: total - errors }, row.objective).remaining;
      };
    }
    return { slo: row.id, points: ends.map((t) => ({ at: new Date(t).toISOString(), remaining: remainingAt(t) })) };
  }

  async remove(id: string): Promise<void> {
    await this.row(id);
    await this.prisma.slo.delete({ where: { id } });
  }

  private async row(id: string): Promise<SloRow> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.prisma.slo.findUnique({ where: { id }, include: { service: { select: { name: true } } } }) : null;
    if (!row) throw new DomainError(ErrorCode.NotFound, `SLO ${id} not found`);
    return row;
  }

  private async evaluate(row: SloRow): Promise<SloView> {
    return (await this.evaluateMany([row]))[0];
  }

  /**
   * The figures of many SLOs now, in a few queries however many there are:
   * the state history of every service with an availability SLO (two
   * queries) and the request counts of every service with a request SLO over
   * its window and the burn windows (two: see request-counts.ts), unless
   * `given` brings them (the evaluator keeps them up to date incrementally).
   */
  async evaluateMany(rows: SloRow[], given?: { nowMs: number; requests?: RequestCounts; spans?: Map<string, StateSpan[]> }): Promise<SloView[]> {
    const nowMs = given?.nowMs ?? this.now();
    const windows = new Map(rows.map((r) => [r.id, windowOf(r.window, r.windowDays, nowMs)]));
    // Most SLOs share their window's start and all share now: each time formatted once.
    const formatted = new Map<number, string>();
    const iso = (ms: number) => {
      let v = formatted.get(ms);
      if (v === undefined) formatted.set(ms, (v = new Date(ms).toISOString()));
      return v;
    };
    const counted = rows.filter((r) => r.sliType !== 'availability');
    const spans = given?.spans ?? (await this.spansOf(rows, nowMs));
    let requests = given?.requests;
    if (!requests && counted.length > 0) {
      const wanted = requestWindows(counted, nowMs);
      requests = await queryRequestCounts(this.transaction, wanted.groups, wanted.startsMs, nowMs);
    }
    return rows.map((row) => {
      const w = windows.get(row.id)!;
      const counts = row.sliType === 'availability' ? availabilityCounts(spans.get(row.serviceId) ?? [], w.startMs, nowMs) : requestCountsOf(requests!, seriesOf(row.serviceId, measureOf(row)), w.startMs, nowMs);
      return this.viewOf(row, w, counts, nowMs, iso);
    });
  }

  /** The state history (from the earliest window start) of the services of these SLOs that count time; `read` reads it (the evaluator keeps it between runs). */
  async spansOf(rows: SloRow[], nowMs: number, read: (serviceIds: string[], startMs: number, endMs: number) => Promise<Map<string, StateSpan[]>> = (ids, from, to) => this.history.spans(ids, from, to)): Promise<Map<string, StateSpan[]>> {
    const timed = rows.filter((r) => r.sliType === 'availability');
    if (timed.length === 0) return new Map();
    const earliest = timed.reduce((min, r) => Math.min(min, windowOf(r.window, r.windowDays, nowMs).startMs), nowMs - LONGEST_BURN_MS);
    return read([...new Set(timed.map((r) => r.serviceId))], earliest, nowMs);
  }

  private viewOf(row: SloRow, w: ReturnType<typeof windowOf>, counts: Counts, nowMs: number, iso: (ms: number) => string): SloView {
    const whole = counts.window;
    // Time-based: the budget is the downtime the objective allows over the whole window (43.2 min of 30 days at 99.9 %).
    const { allowed, consumed, remaining } = errorBudget(whole, row.objective, timeBased(row, w));
    const b = counts.burn;
    const o = row.objective;
    // A literal, not Object.fromEntries: the leader builds one per SLO per run.
    const burnRates: Record<BurnWindow, number | null> = { '5m': burnRate(b['5m'], o), '30m': burnRate(b['30m'], o), '1h': burnRate(b['1h'], o), '6h': burnRate(b['6h'], o), '1d': burnRate(b['1d'], o), '3d': burnRate(b['3d'], o) };
    return {
      id: row.id,
      service: row.service.name,
      name: row.name,
      description: row.description,
      objective: row.objective,
      window: row.window,
      windowDays: w.days,
      minEvents: row.minEvents,
      sli:
        row.sliType === 'latency'
          ? { type: row.sliType, thresholdMs: row.thresholdMs ?? undefined, value: whole.total > 0 ? whole.good / whole.total : null, good: whole.good, total: whole.total }
          : { type: row.sliType, value: whole.total > 0 ? whole.good / whole.total : null, good: whole.good, total: whole.total },
      windowStart: iso(w.startMs),
      evaluatedAt: iso(nowMs),
      errorBudget: row.sliType === 'availability' ? { allowedSeconds: allowed, consumed, remaining } : { allowedEvents: allowed, consumed, remaining },
      burnRates,
      alerts: alertsOf(counts, row.objective, policyFor(w.days), row.minEvents),
      createdAt: isoOfDate(row.createdAt),
    };
  }
}

/**
 * The alert rules' states. Where a long window is not yet covered (a young
 * service, see availabilityCounts) and its rule would fire on the known
 * seconds alone but not on the budget spent, it says so in `suppressed`.
 */
export function alertsOf(counts: Counts, objective: number, rules: ReturnType<typeof policyFor>, minEvents: number): AlertState[] {
  const alerts = evaluateAlerts(counts.burn, objective, rules, minEvents);
  const young = counts.uncovered;
  if (!young) return alerts;
  const onKnown = evaluateAlerts(young.known, objective, rules, minEvents);
  return alerts.map((a, i) => {
    if (a.firing || !onKnown[i].firing || BURN_WINDOWS[a.longWindow] <= young.ageSeconds) return a;
    const down = young.known[a.longWindow].total - young.known[a.longWindow].good;
    return { ...a, suppressed: `the service is ${ageText(young.ageSeconds)} old, less than the ${a.longWindow} window: judged by the budget it spent (${ageText(down)} down), not by its error ratio so far` };
  });
}

function ageText(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** A Date's ISO form, kept for the Date (the leader keeps its SLO rows between runs). */
const isoOfDates = new WeakMap<Date, string>();
function isoOfDate(d: Date): string {
  let v = isoOfDates.get(d);
  if (v === undefined) isoOfDates.set(d, (v = d.toISOString()));
  return v;
}

/** Seconds of the SLO window for a time-based SLI (its budget is a share of all of it); undefined for event-based ones. */
function timeBased(row: SloRow, w: ReturnType<typeof windowOf>): number | undefined {
  return row.sliType === 'availability' ? w.lengthMs / 1000 : undefined;
}

/** What an event-based SLO counts. */
export function measureOf(row: Pick<SloRow, 'sliType' | 'thresholdMs'>): Measure {
  return row.sliType === 'latency' ? { kind: 'latency', thresholdMs: row.thresholdMs ?? 0 } : REQUESTS;
}

/** The services of event-based SLOs, grouped by what they count, and where their windows (the SLO's and the burn windows) start. */
export function requestWindows(rows: Pick<SloRow, 'serviceId' | 'sliType' | 'thresholdMs' | 'window' | 'windowDays'>[], nowMs: number): { groups: SeriesGroup[]; startsMs: number[] } {
  const starts = new Set(Object.values(BURN_WINDOWS).map((s) => nowMs - s * 1000));
  for (const r of rows) if (r.sliType !== 'availability') starts.add(windowOf(r.window, r.windowDays, nowMs).startMs);
  return { groups: groupsOf(rows), startsMs: [...starts] };
}

/** The services of event-based SLOs, grouped by what they count. */
export function groupsOf(rows: Pick<SloRow, 'serviceId' | 'sliType' | 'thresholdMs'>[]): SeriesGroup[] {
  const groups = new Map<string, { measure: Measure; serviceIds: Set<string> }>();
  for (const r of rows) {
    if (r.sliType === 'availability') continue;
    const measure = measureOf(r);
    const key = seriesOf('', measure);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { measure, serviceIds: new Set() }));
    g.serviceIds.add(r.serviceId);
  }
  return [...groups.values()].map((g) => ({ measure: g.measure, serviceIds: [...g.serviceIds] }));
}

function requestCountsOf(requests: RequestCounts, series: string, startMs: number, nowMs: number): Counts {
  return { window: requests.of(series, startMs), burn: burnCounts((s) => requests.of(series, nowMs - s * 1000)) };
}

/** Counts of each burn window, from `of(seconds)`. */
function burnCounts(of: (seconds: number) => WindowCounts): Record<BurnWindow, WindowCounts> {
  const w = BURN_WINDOWS;
  return { '5m': of(w['5m']), '30m': of(w['30m']), '1h': of(w['1h']), '6h': of(w['6h']), '1d': of(w['1d']), '3d': of(w['3d']) };
}

export interface Counts {
  window: WindowCounts;
  burn: Record<BurnWindow, WindowCounts>;
  /** Time-based SLIs of a service younger than some burn windows: their counts over the known seconds alone, and its age. */
  uncovered?: { known: Record<BurnWindow, WindowCounts>; ageSeconds: number };
}

/**
 * Seconds not DOWN (good) of the seconds known (total), over the SLO window
 * and each burn window. A burn window reaching back before the service's
 * first heartbeat is not yet covered: its error ratio over the few seconds
 * known says little (a 26-second-old service down for 18 s burns at 700×),
 * so it is judged by the budget it spent, the downtime over the whole window
 * (as if the service had been up before it existed). A real outage of a new
 * service still pages as soon as an established one's would; a start-up blip
 * does not. `uncovered` keeps the ratios over the known seconds, to say why
 * a rule holds back.
 */
export function availabilityCounts(spans: StateSpan[], startMs: number, nowMs: number): Counts {
  const over = (fromMs: number): WindowCounts => {
    const a = availabilityOver(spans, fromMs, nowMs);
    return { good: a.knownSeconds - a.downSeconds, total: a.knownSeconds };
  };
  const birth = firstKnownMs(spans);
  const known = burnCounts((s) => over(nowMs - s * 1000));
  if (birth === null || birth <= nowMs - BURN_WINDOWS['3d'] * 1000) return { window: over(startMs), burn: known };
  const burn = burnCounts((s) => {
    const c = known[windowNameOf(s)];
    if (birth <= nowMs - s * 1000) return c;
    const bad = c.total - c.good;
    return { good: s - bad, total: s };
  });
  return { window: over(startMs), burn, uncovered: { known, ageSeconds: (nowMs - birth) / 1000 } };
}

function windowNameOf(seconds: number): BurnWindow {
  return (Object.keys(BURN_WINDOWS) as BurnWindow[]).find((w) => BURN_WINDOWS[w] === seconds)!;
}
