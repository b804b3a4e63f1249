import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { SqlPool } from '#core';
import type { Heartbeat } from './heartbeat.js';
import type { IngestEntry } from './heartbeat-stream.js';
import type { Transition } from './instance-state.js';
import type { InstancePlacement } from './instance-store.js';

/** An instance as the drain knows it: its id, and what Postgres holds of its placement, timings and detector. */
export interface KnownInstance extends InstancePlacement {
  id: string;
  intervalSeconds: number;
  ttlSeconds: number | null;
  graceSeconds: number | null;
  detector: 'fixed' | 'phi';
  phiThreshold: number;
}

export interface InstanceTransitionRow extends Transition {
  instanceId: string;
  serviceId: string;
  status: string | null;
  lastSeenMs: number;
  flapping?: boolean;
}

const INSTANCE_COLUMNS = `i.id, i.service_id AS "serviceId", s.name AS service, i.name, i.address, i.port, i.zone, i.region,
  i.interval_seconds AS "intervalSeconds", i.ttl_seconds AS "ttlSeconds", i.grace_seconds AS "graceSeconds",
  s.detector, s.phi_threshold AS "phiThreshold", i.meta`;

/**
 * The drain's Postgres statements: each is one round trip for a whole batch
 * (arrays through `unnest`), never one per heartbeat.
 */
@Injectable()
export class IngestRepository {
  constructor(private readonly sql: SqlPool) {}

  /**
   * Ids of the named instances, registering unknown services and instances
   * on the way (self-registration). `seen` carries what the first heartbeat
   * said of each new instance.
   */
  async upsertInstances(seen: Heartbeat[]): Promise<KnownInstance[]> {
    const services = [...new Set(seen.map((h) => h.service))];
    await this.sql.query(
      `INSERT INTO services (id, name, self_registered, updated_at)
       SELECT gen_random_uuid(), n, true, now() FROM unnest($1::text[]) AS n
       ON CONFLICT (name) DO NOTHING`,
      [services],
    );
    await this.sql.query(
      `INSERT INTO instances (id, service_id, name, address, zone, region, interval_seconds, port, self_registered, updated_at)
       SELECT gen_random_uuid(), s.id, v.instance, v.address, v.zone, v.region, coalesce(v.interval, 10), v.port, true, now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[]) AS v(service, instance, address, zone, region, interval, port)
         JOIN services s ON s.name = v.service
       ON CONFLICT (service_id, name) DO NOTHING`,
      [
        seen.map((h) => h.service),
        seen.map((h) => h.instance),
        seen.map((h) => h.address ?? null),
        seen.map((h) => h.zone ?? null),
        seen.map((h) => h.region ?? null),
        seen.map((h) => h.intervalSeconds ?? null),
        seen.map((h) => h.port ?? null),
      ],
    );
    return this.findByNames(seen.map((h) => [h.service, h.instance]));
  }

  async findByNames(pairs: [string, string][]): Promise<KnownInstance[]> {
    const { rows } = await this.sql.query<KnownInstance>(
      `SELECT ${INSTANCE_COLUMNS}
         FROM unnest($1::text[], $2::text[]) AS v(service, instance)
         JOIN services s ON s.name = v.service
         JOIN instances i ON i.service_id = s.id AND i.name = v.instance`,
      [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
    return rows;
  }

  /** Placement or interval an instance's heartbeats now report differently. */
  async updatePlacement(changes: KnownInstance[]): Promise<void> {
    if (changes.length === 0) return;
    await this.sql.query(
      `UPDATE instances i SET address = v.address, port = v.port, zone = v.zone, region = v.region, interval_seconds = v.interval, updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[]) AS v(id, address, port, zone, region, interval)
        WHERE i.id = v.id`,
      [changes.map((c) => c.id), changes.map((c) => c.address), changes.map((c) => c.port), changes.map((c) => c.zone), changes.map((c) => c.region), changes.map((c) => c.intervalSeconds)],
    );
  }

  /**
   * Writes the entries' heartbeats and per-minute rollups, and marks the
   * entries ingested, in one transaction. Entries already ingested (a stream
   * entry redelivered after a worker died between commit and ack) are
   * skipped, so nothing is counted twice. Returns how many heartbeats were written.
   *
   * The marks come first (`ON CONFLICT DO NOTHING RETURNING`): a second
   * writer of the same entries at the same time (a worker that took them
   * over while the first still held them) waits on their rows until the
   * first commits, then skips them. Reading the marks first would let both
   * see none and both write.
   */
  async writeEntries(entries: IngestEntry[], idOf: (h: Heartbeat) => KnownInstance | undefined): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ stream_id: string }>(
        'INSERT INTO ingested_batches (stream_id, count) SELECT * FROM unnest($1::text[], $2::int[]) ON CONFLICT DO NOTHING RETURNING stream_id',
        [entries.map((e) => e.streamId), entries.map((e) => e.heartbeats.length)],
      );
      const claimed = new Set(rows.map((r) => r.stream_id));
      const fresh = entries.filter((e) => claimed.has(e.streamId));
      if (fresh.length === 0) return 0;

      const hb = { instance: [] as string[], received: [] as string[], sent: [] as (string | null)[], status: [] as string[], via: [] as (string | null)[] };
      const requests = new Map<string, RequestRow>();
      const deps = new Map<string, { minute: string; instanceId: string; serviceId: string; dependency: string; calls: number; failures: number; slow: number; p50: number | null; p99: number | null }>();
      const limited = new Map<string, { minute: string; instanceId: string; serviceId: string; policy: string; count: number }>();
      for (const e of fresh) {
        const received = new Date(e.receivedMs).toISOString();
        const minute = new Date(e.receivedMs - (e.receivedMs % 60_000)).toISOString();
        for (const h of e.heartbeats) {
          const known = idOf(h);
          if (!known) continue;
          hb.instance.push(known.id);
          hb.received.push(received);
          hb.sent.push(h.atMs !== undefined ? new Date(h.atMs).toISOString() : null);
          hb.status.push(h.status);
          hb.via.push(h.via ?? null);
          const rk = `${minute}|${known.id}`;
          const r = requests.get(rk) ?? { minute, instanceId: known.id, serviceId: known.serviceId, heartbeats: 0, total: 0, errors: 0, slow: 0, measured: 0, buckets: null };
          r.heartbeats += 1;
          const m = h.metrics?.requests;
          if (m) {
            r.total += m.total;
            r.errors += m.errors;
            r.slow += m.slow ?? 0;
            if (m.latency) {
              r.measured += m.latency.measured;
              r.buckets = addBuckets(r.buckets, m.latency.buckets);
            }
          }
          requests.set(rk, r);
          for (const [dependency, c] of Object.entries(h.metrics?.dependencies ?? {})) {
            const dk = `${rk}|${dependency}`;
            const d = deps.get(dk) ?? { minute, instanceId: known.id, serviceId: known.serviceId, dependency, calls: 0, failures: 0, slow: 0, p50: null, p99: null };
            d.calls += c.calls;
            d.failures += c.failures;
            d.slow += c.slowCalls;
            if (c.latencyMsP50 !== undefined) d.p50 = Math.max(d.p50 ?? 0, c.latencyMsP50);
            if (c.latencyMsP99 !== undefined) d.p99 = Math.max(d.p99 ?? 0, c.latencyMsP99);
            deps.set(dk, d);
          }
          for (const [policy, count] of Object.entries(h.metrics?.rateLimited ?? {})) {
            const lk = `${rk}|${policy}`;
            const l = limited.get(lk) ?? { minute, instanceId: known.id, serviceId: known.serviceId, policy, count: 0 };
            l.count += count;
            limited.set(lk, l);
          }
        }
      }
      await insertHeartbeats(tx, hb);
      await upsertRollups(tx, [...requests.values()], [...deps.values()], [...limited.values()]);
      return hb.instance.length;
    });
  }

  /** Stores state changes: the instances' current state and one history row each. */
  async recordTransitions(rows: InstanceTransitionRow[]): Promise<void> {
    if (rows.length === 0) return;
    // Several changes of one instance in a batch: the row ends with the last.
    const last = new Map<string, InstanceTransitionRow>();
    for (const r of rows) last.set(r.instanceId, r);
    const current = [...last.values()];
    await this.sql.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO instance_transitions (service_id, instance_id, "from", "to", at, reason)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::"InstanceState"[], $4::"InstanceState"[], $5::timestamptz[], $6::text[])`,
        [rows.map((r) => r.serviceId), rows.map((r) => r.instanceId), rows.map((r) => r.from), rows.map((r) => r.to), rows.map((r) => new Date(r.atMs).toISOString()), rows.map((r) => r.reason)],
      );
      await tx.query(
        `UPDATE instances i SET state = v.state, state_since = v.since, state_reason = v.reason, status = v.status,
                last_seen_at = greatest(i.last_seen_at, v.seen), flapping = v.flapping, updated_at = now()
           FROM unnest($1::uuid[], $2::"InstanceState"[], $3::timestamptz[], $4::text[], $5::"ReportedStatus"[], $6::timestamptz[], $7::boolean[]) AS v(id, state, since, reason, status, seen, flapping)
          WHERE i.id = v.id AND (i.state = 'UNKNOWN' OR i.state_since <= v.since)`,
        [
          current.map((r) => r.instanceId),
          current.map((r) => r.to),
          current.map((r) => new Date(r.atMs).toISOString()),
          current.map((r) => r.reason),
          current.map((r) => r.status),
          current.map((r) => (r.lastSeenMs > 0 ? new Date(r.lastSeenMs).toISOString() : null)),
          current.map((r) => r.flapping ?? false),
        ],
      );
    });
  }

  /** Last-seen times and reported status, written in bulk now and then (not per heartbeat). */
  async flushLastSeen(seen: { id: string; lastSeenMs: number; status: string | null }[]): Promise<void> {
    if (seen.length === 0) return;
    await this.sql.query(
      `UPDATE instances i SET last_seen_at = greatest(i.last_seen_at, v.seen), status = coalesce(v.status, i.status)
         FROM unnest($1::uuid[], $2::timestamptz[], $3::"ReportedStatus"[]) AS v(id, seen, status)
        WHERE i.id = v.id`,
      [seen.map((s) => s.id), seen.map((s) => new Date(s.lastSeenMs).toISOString()), seen.map((s) => s.status)],
    );
  }
}

async function insertHeartbeats(tx: pg.PoolClient, hb: { instance: string[]; received: string[]; sent: (string | null)[]; status: string[]; via: (string | null)[] }): Promise<void> {
  if (hb.instance.length === 0) return;
  await tx.query(
    `INSERT INTO heartbeats (instance_id, received_at, sent_at, status, via)
     SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::"ReportedStatus"[], $5::text[])`,
    [hb.instance, hb.received, hb.sent, hb.status, hb.via],
  );
}

async function upsertRollups(
  tx: pg.PoolClient,
  requests: RequestRow[],
  deps: { minute: string; instanceId: string; serviceId: string; dependency: string; calls: number; failures: number; slow: number; p50: number | null; p99: number | null }[],
  limited: { minute: string; instanceId: string; serviceId: string; policy: string; count: number }[],
): Promise<void> {
  if (requests.length > 0) {
    await tx.query(
      `INSERT INTO request_rollups AS r (minute, instance_id, service_id, heartbeats, total, errors, slow, latency_total, latency)
       SELECT * FROM unnest($1::timestamptz[], $2::uuid[], $3::uuid[], $4::int[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::jsonb[])
       ON CONFLICT (minute, instance_id) DO UPDATE SET heartbeats = r.heartbeats + excluded.heartbeats, total = r.total + excluded.total,
         errors = r.errors + excluded.errors, slow = r.slow + excluded.slow,
         latency_total = r.latency_total + excluded.latency_total, latency = ninefold_latency_add(r.latency, excluded.latency)`,
      [
        requests.map((r) => r.minute),
        requests.map((r) => r.instanceId),
        requests.map((r) => r.serviceId),
        requests.map((r) => r.heartbeats),
        requests.map((r) => r.total),
        requests.map((r) => r.errors),
        requests.map((r) => r.slow),
        requests.map((r) => r.measured),
        requests.map((r) => jsonOf(r.buckets)),
      ],
    );
    // The same counts by hour and by day, in (service, period) order: two drains adding to the same rows lock them in the same order (no deadlock).
    const periods = periodsOf(requests);
    for (const [table, period] of [['request_hours', 'hour'], ['request_days', 'day']] as const) {
      const rows = periods[period];
      if (rows.length === 0) continue;
      await tx.query(
        `INSERT INTO ${table} AS p (${period}, service_id, total, errors, slow, latency_total, latency)
         SELECT * FROM unnest($1::${period === 'day' ? 'date' : 'timestamptz'}[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::jsonb[])
         ON CONFLICT (service_id, ${period}) DO UPDATE SET total = p.total + excluded.total, errors = p.errors + excluded.errors, slow = p.slow + excluded.slow,
           latency_total = p.latency_total + excluded.latency_total, latency = ninefold_latency_add(p.latency, excluded.latency)`,
        [
          rows.map((r) => (period === 'day' ? r.start.slice(0, 10) : r.start)),
          rows.map((r) => r.serviceId),
          rows.map((r) => r.total),
          rows.map((r) => r.errors),
          rows.map((r) => r.slow),
          rows.map((r) => r.measured),
          rows.map((r) => jsonOf(r.buckets)),
        ],
      );
    }
  }
  if (deps.length > 0) {
    await tx.query(
      `INSERT INTO dependency_rollups AS d (minute, instance_id, service_id, dependency, calls, failures, slow_calls, latency_p50_ms, latency_p99_ms)
       SELECT * FROM unnest($1::timestamptz[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::float8[], $9::float8[])
       ON CONFLICT (minute, instance_id, dependency) DO UPDATE SET calls = d.calls + excluded.calls, failures = d.failures + excluded.failures,
         slow_calls = d.slow_calls + excluded.slow_calls,
         latency_p50_ms = greatest(d.latency_p50_ms, excluded.latency_p50_ms), latency_p99_ms = greatest(d.latency_p99_ms, excluded.latency_p99_ms)`,
      [deps.map((d) => d.minute), deps.map((d) => d.instanceId), deps.map((d) => d.serviceId), deps.map((d) => d.dependency), deps.map((d) => d.calls), deps.map((d) => d.failures), deps.map((d) => d.slow), deps.map((d) => d.p50), deps.map((d) => d.p99)],
    );
  }
  if (limited.length > 0) {
    await tx.query(
      `INSERT INTO rate_limit_rollups AS l (minute, instance_id, service_id, policy, count)
       SELECT * FROM unnest($1::timestamptz[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[])
       ON CONFLICT (minute, instance_id, policy) DO UPDATE SET count = l.count + excluded.count`,
      [limited.map((l) => l.minute), limited.map((l) => l.instanceId), limited.map((l) => l.serviceId), limited.map((l) => l.policy), limited.map((l) => l.count)],
    );
  }
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** A batch's requests of one instance in one minute. */
interface RequestRow {
  minute: string;
  instanceId: string;
  serviceId: string;
  heartbeats: number;
  total: number;
  errors: number;
  slow: number;
  /** Requests whose latency was measured, and their latency buckets (null: none reported). */
  measured: number;
  buckets: Record<string, number> | null;
}

type PeriodRow = Omit<RequestRow, 'minute' | 'instanceId' | 'heartbeats'> & { start: string };

/** Latency buckets added bound by bound (`into` is changed when given). */
function addBuckets(into: Record<string, number> | null, add: Record<string, number>): Record<string, number> {
  const out = into ?? {};
  for (const k in add) out[k] = (out[k] ?? 0) + add[k];
  return out;
}

const jsonOf = (buckets: Record<string, number> | null): string | null => (buckets ? JSON.stringify(buckets) : null);

/** A batch's request counts per service and UTC hour, and per service and UTC day (periods without requests left out), each sorted by service and period. */
function periodsOf(requests: RequestRow[]): { hour: PeriodRow[]; day: PeriodRow[] } {
  const hours = new Map<string, PeriodRow>();
  const days = new Map<string, PeriodRow>();
  const add = (periods: Map<string, PeriodRow>, r: RequestRow, start: string) => {
    const key = `${r.serviceId}|${start}`;
    const p = periods.get(key) ?? { start, serviceId: r.serviceId, total: 0, errors: 0, slow: 0, measured: 0, buckets: null };
    p.total += r.total;
    p.errors += r.errors;
    p.slow += r.slow;
    p.measured += r.measured;
    if (r.buckets) p.buckets = addBuckets(p.buckets, r.buckets);
    periods.set(key, p);
  };
  for (const r of requests) {
    if (r.total === 0) continue;
    const ms = Date.parse(r.minute);
    add(hours, r, new Date(ms - (ms % HOUR_MS)).toISOString());
    add(days, r, new Date(ms - (ms % DAY_MS)).toISOString());
  }
  const ordered = (periods: Map<string, PeriodRow>) => [...periods.values()].sort((a, b) => (a.serviceId < b.serviceId ? -1 : a.serviceId > b.serviceId ? 1 : a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return { hour: ordered(hours), day: ordered(days) };
}
