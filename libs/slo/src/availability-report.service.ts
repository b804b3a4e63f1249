import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, PrismaService, SqlPool } from '#core';
import { availabilityOver, StateHistoryRepository } from '#registry';
import { daySums, seriesOf } from './request-counts.js';
import { groupsOf, measureOf, type SliType } from './slo.service.js';

/** The longest range one report covers. */
export const REPORT_MAX_DAYS = 400;

export interface ReportSlo {
  name: string;
  sli: SliType;
  /** Latency SLIs: the most a good request may take. */
  thresholdMs?: number;
  objective: number;
  /** good / total over the report's range; null without data. */
  value: number | null;
  /** Whether the SLI reached the objective over the range; null without data. */
  met: boolean | null;
}

export interface ReportRow {
  service: string;
  /** Share of the known time not DOWN over the range; null when nothing is known. */
  availability: number | null;
  downtimeSeconds: number;
  /** Seconds with a known state (time before the first heartbeat is left out). */
  knownSeconds: number;
  /** Times the service went DOWN within the range. */
  outages: number;
  /** Incidents of the service in the range; until the incidents engine lands, each outage counts as one. */
  incidents: number;
  slos: ReportSlo[];
}

export interface AvailabilityReport {
  from: string;
  to: string;
  generatedAt: string;
  services: ReportRow[];
}

/**
 * The availability report customers and managers ask for: per service over
 * [from, to), its availability, downtime, outages and whether each SLO was
 * met. A few queries however many services: their state history, DOWN
 * transitions, SLOs, and the request sums of each kind of event-based SLO.
 */
@Injectable()
export class AvailabilityReportService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly sql: SqlPool,
    private readonly history: StateHistoryRepository,
  ) {}

  async report(fromMs: number, toMs: number, service?: string): Promise<AvailabilityReport> {
    if (!(toMs > fromMs)) throw new DomainError(ErrorCode.Invalid, ['from must be before to']);
    if (toMs - fromMs > REPORT_MAX_DAYS * 86_400_000) throw new DomainError(ErrorCode.Invalid, [`a report covers at most ${REPORT_MAX_DAYS} days`]);
    const services = await this.prisma.service.findMany({ where: service ? { name: service } : {}, orderBy: { name: 'asc' }, select: { id: true, name: true } });
    if (service && services.length === 0) throw new DomainError(ErrorCode.NotFound, `service ${service} not found`);
    const ids = services.map((s) => s.id);
    const from = new Date(fromMs);
    const to = new Date(toMs);
    const [spans, outages, slos] = await Promise.all([
      this.history.spans(ids, fromMs, Math.min(toMs, Date.now())),
      this.prisma.serviceTransition.groupBy({ by: ['serviceId'], where: { serviceId: { in: ids }, to: 'DOWN', at: { gte: from, lt: to } }, _count: { _all: true } }),
      this.prisma.slo.findMany({ where: { serviceId: { in: ids } }, orderBy: { name: 'asc' }, select: { serviceId: true, name: true, sliType: true, thresholdMs: true, objective: true } }),
    ]);
    // Request and latency SLIs: their services' counts over the range, by the day, per kind of SLI.
    const counts = await daySums(this.sql, groupsOf(slos), fromMs, toMs);
    const outagesOf = new Map(outages.map((o) => [o.serviceId, o._count._all]));
    const rows = services.map((s): ReportRow => {
      const a = availabilityOver(spans.get(s.id) ?? [], fromMs, Math.min(toMs, Date.now()));
      const n = outagesOf.get(s.id) ?? 0;
      return {
        service: s.name,
        availability: a.availability,
        downtimeSeconds: a.downSeconds,
        knownSeconds: a.knownSeconds,
        outages: n,
        incidents: n,
        slos: slos
          .filter((o) => o.serviceId === s.id)
          .map((o) => {
            const counted = o.sliType === 'availability' ? undefined : counts.get(seriesOf(s.id, measureOf(o)));
            const value = o.sliType === 'availability' ? a.availability : counted && counted.total > 0 ? (counted.total - counted.errors) / counted.total : null;
            const slo: ReportSlo = { name: o.name, sli: o.sliType, objective: o.objective, value, met: value === null ? null : value >= o.objective };
            if (o.sliType === 'latency' && o.thresholdMs !== null) slo.thresholdMs = o.thresholdMs;
            return slo;
          }),
      };
    });
    return { from: from.toISOString(), to: to.toISOString(), generatedAt: new Date().toISOString(), services: rows };
  }
}

/** One CSV row per service and SLO (a service without SLOs has one row with those columns empty). RFC 4180 quoting. */
export function reportCsv(report: AvailabilityReport): string {
  const q = (v: string | number | boolean | null) => {
    const s = v === null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const pct = (a: number | null) => (a === null ? null : Number((a * 100).toFixed(5)));
  const lines = [['service', 'from', 'to', 'availability_percent', 'downtime_minutes', 'outages', 'incidents', 'slo', 'sli', 'objective_percent', 'slo_percent', 'slo_met', 'slo_threshold_ms'].join(',')];
  for (const r of report.services) {
    const base = [r.service, report.from, report.to, pct(r.availability), Number((r.downtimeSeconds / 60).toFixed(2)), r.outages, r.incidents];
    const slos = r.slos.length > 0 ? r.slos : [null];
    for (const o of slos) lines.push([...base, o?.name ?? null, o?.sli ?? null, o ? pct(o.objective) : null, o ? pct(o.value) : null, o?.met ?? null, o?.thresholdMs ?? null].map(q).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
