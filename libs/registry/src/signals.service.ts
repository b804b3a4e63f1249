import { Injectable, Logger } from '@nestjs/common';
import { SqlPool } from '#core';
import { RealtimeEvent, RealtimePublisher } from '#realtime';

export type SignalSeverity = 'info' | 'warning' | 'critical';

export interface SignalInput {
  kind: string;
  severity: SignalSeverity;
  /** One open signal per cause: raising the same key again counts, it does not open another. */
  dedupKey: string;
  serviceId?: string | null;
  instanceId?: string | null;
  /** Names for the event payload (the ids stay in Postgres). */
  service?: string | null;
  instance?: string | null;
  message: string;
  details?: Record<string, unknown>;
  atMs?: number;
}

/**
 * Signals: what the registry noticed beyond state changes (partitions,
 * consensus trouble, unmet survival goals, ingress problems). Stored in
 * Postgres and announced as `signal` events; the incidents engine builds on them.
 */
@Injectable()
export class SignalsService {
  private readonly logger = new Logger(SignalsService.name);

  constructor(
    private readonly sql: SqlPool,
    private readonly publisher: RealtimePublisher,
  ) {}

  /** Raises a signal, or counts it again when one with its key is open. Returns true when it was new. */
  async raise(s: SignalInput): Promise<boolean> {
    const at = new Date(s.atMs ?? Date.now()).toISOString();
    const created = await this.sql.transaction(async (tx) => {
      // Serialise raisers of one key (replicas, drain and sweep) without a partial unique index.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [s.dedupKey]);
      const open = await tx.query('UPDATE signals SET count = count + 1, last_seen_at = $2 WHERE dedup_key = $1 AND resolved_at IS NULL RETURNING id', [s.dedupKey, at]);
      if ((open.rowCount ?? 0) > 0) return false;
      await tx.query(
        'INSERT INTO signals (kind, severity, dedup_key, service_id, instance_id, message, details, raised_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)',
        [s.kind, s.severity, s.dedupKey, s.serviceId ?? null, s.instanceId ?? null, s.message, s.details ? JSON.stringify(s.details) : null, at],
      );
      return true;
    });
    if (created) {
      this.logger.warn({ kind: s.kind, severity: s.severity, service: s.service, instance: s.instance, dedupKey: s.dedupKey }, s.message);
      await this.publisher.publish(RealtimeEvent.Signal, { kind: s.kind, severity: s.severity, dedupKey: s.dedupKey, service: s.service ?? null, instance: s.instance ?? null, message: s.message, details: s.details ?? null, status: 'raised', at });
    }
    return created;
  }

  /** Resolves the open signal with this key, if any. */
  async resolve(dedupKey: string, message: string, atMs = Date.now()): Promise<boolean> {
    return (await this.resolveMany([dedupKey], atMs, message)) > 0;
  }

  /** Resolves the open signals with these keys, in one statement. */
  async resolveMany(dedupKeys: string[], atMs = Date.now(), message = 'resolved'): Promise<number> {
    if (dedupKeys.length === 0) return 0;
    const at = new Date(atMs).toISOString();
    const { rows } = await this.sql.query<{ kind: string; dedup_key: string; service_id: string | null }>(
      'UPDATE signals SET resolved_at = $2 WHERE dedup_key = ANY($1::text[]) AND resolved_at IS NULL RETURNING kind, dedup_key',
      [dedupKeys, at],
    );
    await this.publisher.publishAll(rows.map((r) => ({ event: RealtimeEvent.Signal, payload: { kind: r.kind, dedupKey: r.dedup_key, message, status: 'resolved', at } })));
    return rows.length;
  }
}
