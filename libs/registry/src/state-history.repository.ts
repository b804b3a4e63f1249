import { Injectable } from '@nestjs/common';
import { PrismaService } from '#core';
import type { StateSpan } from './availability.js';
import { AvailabilityRollups } from './availability-rollups.js';

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
  constructor(
    private readonly prisma: PrismaService,
    private readonly rollups: AvailabilityRollups,
  ) {}

  /**
   * State spans per service over [startMs, endMs), maintenance marked: from
   * the state changes, or from the hourly and daily rollups for a service that
   * changed state very often (see availability-rollups.ts). A few queries
   * however many services.
   */
  spans(serviceIds: string[], startMs: number, endMs: number): Promise<Map<string, StateSpan[]>> {
    return this.rollups.services.spans(serviceIds, startMs, endMs);
  }

  /** The same per instance (by instance row id): its own states, its service's maintenance marked. */
  instanceSpans(instanceIds: string[], startMs: number, endMs: number): Promise<Map<string, StateSpan[]>> {
    return this.rollups.instances.spans(instanceIds, startMs, endMs);
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
