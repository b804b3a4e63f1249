import { Injectable } from '@nestjs/common';
import { PrismaService } from '#core';
import { spansFrom, type StateSpan } from './availability.js';

/** Where a page of a service's history starts: after this entry (newest first). */
export interface HistoryPosition {
  at: Date;
  kind: 'service' | 'instance';
  id: bigint;
}

/** One state change of a service or of one of its instances. */
export interface HistoryEntry extends HistoryPosition {
  /** The instance's name; null for the service's own changes, and for an instance deleted since. */
  instance: string | null;
  from: string;
  to: string;
  reason: string | null;
}

/** The state history of services: service_transitions and instance_transitions. */
@Injectable()
export class StateHistoryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * State spans per service over [startMs, endMs), in two queries however
   * many services: the state each was in at `startMs` (UNKNOWN when it had no
   * history yet) and the transitions after it.
   */
  async spans(serviceIds: string[], startMs: number, endMs: number): Promise<Map<string, StateSpan[]>> {
    const out = new Map<string, StateSpan[]>();
    if (serviceIds.length === 0) return out;
    const start = new Date(startMs);
    const [before, within] = await Promise.all([
      this.prisma.$queryRaw<{ service_id: string; to: StateSpan['state'] }[]>`
        SELECT DISTINCT ON (service_id) service_id, "to" FROM service_transitions
         WHERE service_id = ANY(${serviceIds}::uuid[]) AND at <= ${start} ORDER BY service_id, at DESC, id DESC`,
      // Raw rather than findMany: no IN list of thousands of parameters, and a tenth of the cost per row.
      this.prisma.$queryRaw<{ service_id: string; at: Date; to: StateSpan['state'] }[]>`
        SELECT service_id::text AS service_id, at, "to" FROM service_transitions
         WHERE service_id = ANY(${serviceIds}::uuid[]) AND at > ${start} ORDER BY at, id`,
    ]);
    const initial = new Map(before.map((r) => [r.service_id, r.to]));
    const byService = new Map<string, { atMs: number; to: StateSpan['state'] }[]>(serviceIds.map((id) => [id, []]));
    for (const t of within) byService.get(t.service_id)?.push({ atMs: t.at.getTime(), to: t.to });
    for (const [id, ts] of byService) out.set(id, spansFrom(initial.get(id) ?? 'UNKNOWN', startMs, ts, endMs));
    return out;
  }

  /**
   * Up to `limit` state changes of a service and its instances, newest first
   * (ties: the service's before its instances', then by id), after `after`.
   * One statement: each side reads at most `limit` rows through its
   * (service_id, at) index, and the two are merged.
   */
  async changes(serviceId: string, limit: number, after?: HistoryPosition): Promise<HistoryEntry[]> {
    // Without a cursor, a position after every entry.
    const at = after ? after.at.toISOString() : 'infinity';
    const kind = after?.kind ?? 'service';
    const id = (after?.id ?? 9_223_372_036_854_775_807n).toString();
    const rows = await this.prisma.$queryRaw<{ at: Date; kind: 'service' | 'instance'; id: string; instance: string | null; from: string; to: string; reason: string | null }[]>`
      SELECT * FROM (
        (SELECT t.at, 'service' AS kind, t.id::text AS id, NULL::text AS instance, t."from"::text AS "from", t."to"::text AS "to", t.reason
           FROM service_transitions t
          WHERE t.service_id = ${serviceId}::uuid AND t.at <= ${at}::timestamptz
            AND (t.at, 'service', t.id) < (${at}::timestamptz, ${kind}::text, ${id}::bigint)
          ORDER BY t.at DESC, t.id DESC LIMIT ${limit})
        UNION ALL
        (SELECT t.at, 'instance' AS kind, t.id::text AS id, i.name::text AS instance, t."from"::text, t."to"::text, t.reason::text
           FROM instance_transitions t LEFT JOIN instances i ON i.id = t.instance_id
          WHERE t.service_id = ${serviceId}::uuid AND t.at <= ${at}::timestamptz
            AND (t.at, 'instance', t.id) < (${at}::timestamptz, ${kind}::text, ${id}::bigint)
          ORDER BY t.at DESC, t.id DESC LIMIT ${limit})
      ) h
      ORDER BY at DESC, kind DESC, id::bigint DESC
      LIMIT ${limit}`;
    return rows.map((r) => ({ ...r, id: BigInt(r.id) }));
  }
}
