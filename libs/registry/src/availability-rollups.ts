import { Injectable } from '@nestjs/common';
import { InjectConfig, type NinefoldConfig, SqlPool } from '#core';
import { availabilityOver, spansFrom, type StateSpan, withMaintenance } from './availability.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** A closed hour is rolled up only this long after it ends, so state changes written a little late are in it. */
export const ROLLUP_LAG_MS = 2 * 60_000;
/** Windows reaching further back than this are read by the day; nearer, by the hour. */
const HOURS_BACK_MS = 3 * DAY_MS;
/** A service with more state changes than this in a range is read from its rollups instead. */
export const MAX_CHANGES_READ = 500;
/** Periods rolled up per run, so a catch-up (first start, a leader that was down) goes in bounded steps. */
const HOURS_PER_RUN = 48;
const DAYS_PER_RUN = 31;

type State = StateSpan['state'];
interface Window {
  fromMs: number;
  toMs: number;
}

/*
 * Availability history, bounded however much a service flapped:
 *  - the elected leader rolls every closed UTC hour and day up into
 *    availability_hours / availability_days (time known and time DOWN, with
 *    maintenance left out), from the state changes;
 *  - reading a range, a service's state changes are read directly when there
 *    are at most MAX_CHANGES_READ of them (cheap, and exact); a service with
 *    more is read from its rollups: by the day further back than three days,
 *    by the hour nearer, its changes only for the last hour or two (what is
 *    not rolled up yet). A window starting inside a rolled-up hour or day
 *    counts that period's known and down time pro rata.
 */
@Injectable()
export class AvailabilityRollups {
  constructor(
    private readonly sql: SqlPool,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  /** Service state spans over [startMs, endMs), maintenance marked: read from state changes, or from rollups for services that changed state very often. */
  async spans(serviceIds: string[], startMs: number, endMs: number, nowMs = Date.now(), maxChanges = MAX_CHANGES_READ): Promise<Map<string, StateSpan[]>> {
    const out = new Map<string, StateSpan[]>();
    if (serviceIds.length === 0 || endMs <= startMs) {
      for (const id of serviceIds) out.set(id, []);
      return out;
    }
    const { spans, busy } = await this.changeSpans(serviceIds, startMs, endMs, maxChanges);
    for (const [id, s] of spans) out.set(id, s);
    if (busy.length > 0) for (const [id, s] of await this.rollupSpans(busy, startMs, endMs, nowMs)) out.set(id, s);
    return out;
  }

  /**
   * Spans from state changes, maintenance marked. With `limit`, services
   * with more changes than that in the range are left out and listed in
   * `busy` (at most limit + 1 rows are read per service).
   */
  async changeSpans(serviceIds: string[], startMs: number, endMs: number, limit?: number): Promise<{ spans: Map<string, StateSpan[]>; busy: string[] }> {
    const start = new Date(startMs);
    const end = new Date(endMs);
    const [before, within, windows] = await Promise.all([
      this.sql.query<{ id: string; to: State }>(
        `SELECT s.id::text AS id, t."to" FROM unnest($1::uuid[]) AS s(id)
           CROSS JOIN LATERAL (SELECT "to" FROM service_transitions WHERE service_id = s.id AND at <= $2 ORDER BY at DESC, id DESC LIMIT 1) t`,
        [serviceIds, start],
      ),
      this.sql.query<{ id: string; at: Date; to: State }>(
        limit === undefined
          ? `SELECT service_id::text AS id, at, "to" FROM service_transitions WHERE service_id = ANY($1::uuid[]) AND at > $2 AND at < $3 ORDER BY at, id`
          : `SELECT s.id::text AS id, t.at, t."to" FROM unnest($1::uuid[]) AS s(id)
               CROSS JOIN LATERAL (SELECT at, "to", id FROM service_transitions WHERE service_id = s.id AND at > $2 AND at < $3 ORDER BY at, id LIMIT ${limit + 1}) t
              ORDER BY t.at, t.id`,
        [serviceIds, start, end],
      ),
      this.maintenance(serviceIds, startMs, endMs),
    ]);
    const initial = new Map(before.rows.map((r) => [r.id, r.to]));
    const changes = new Map<string, { atMs: number; to: State }[]>(serviceIds.map((id) => [id, []]));
    for (const t of within.rows) changes.get(t.id)?.push({ atMs: t.at.getTime(), to: t.to });
    const spans = new Map<string, StateSpan[]>();
    const busy: string[] = [];
    for (const [id, ts] of changes) {
      if (limit !== undefined && ts.length > limit) {
        busy.push(id);
        continue;
      }
      spans.set(id, withMaintenance(spansFrom(initial.get(id) ?? 'UNKNOWN', startMs, ts, endMs), windows.get(id) ?? []));
    }
    return { spans, busy };
  }

  /** Maintenance windows overlapping [startMs, endMs), per service. */
  async maintenance(serviceIds: string[], startMs: number, endMs: number): Promise<Map<string, Window[]>> {
    const { rows } = await this.sql.query<{ id: string; from: Date; to: Date }>(
      `SELECT service_id::text AS id, starts_at AS "from", ends_at AS "to" FROM maintenance_windows
        WHERE service_id = ANY($1::uuid[]) AND ends_at > $2 AND starts_at < $3`,
      [serviceIds, new Date(startMs), new Date(endMs)],
    );
    const out = new Map<string, Window[]>();
    for (const r of rows) {
      const list = out.get(r.id) ?? [];
      list.push({ fromMs: r.from.getTime(), toMs: r.to.getTime() });
      out.set(r.id, list);
    }
    return out;
  }

  /**
   * Spans of these services from their rollups: whole days up to three days
   * back (or as far as days are rolled up), then hours up to the one before
   * the current (or as far as hours are), then state changes. A gap in the
   * rollups (a leader that was down, hours past their retention) is read
   * from the state changes.
   */
  private async rollupSpans(serviceIds: string[], startMs: number, endMs: number, nowMs: number): Promise<Map<string, StateSpan[]>> {
    const marks = await this.watermarks();
    // Days until three days back (a UTC midnight), or as far as they are rolled up.
    const daysTo = Math.min(marks.days ?? -Infinity, Math.floor((nowMs - HOURS_BACK_MS) / DAY_MS) * DAY_MS);
    // Then hours, from where they are still kept, to the hour before the current one (or as far as they are rolled up).
    const hoursFrom = Math.max(daysTo, Math.ceil((nowMs - this.config.ROLLUP_HOUR_RETENTION_DAYS * DAY_MS) / HOUR_MS) * HOUR_MS);
    const hoursTo = Math.max(hoursFrom, Math.min(marks.hours ?? -Infinity, Math.floor(nowMs / HOUR_MS) * HOUR_MS - HOUR_MS));
    const out = new Map<string, StateSpan[]>(serviceIds.map((id) => [id, []]));
    const add = (id: string, s: StateSpan) => out.get(id)?.push(s);

    if (startMs < Math.min(daysTo, endMs)) {
      const { rows } = await this.sql.query<{ id: string; day: string; known: string; down: string }>(
        `SELECT service_id::text AS id, day::text AS day, known_ms AS known, down_ms AS down FROM availability_days
          WHERE service_id = ANY($1::uuid[]) AND day >= $2::date AND day < $3::date`,
        [serviceIds, isoDay(Math.floor(startMs / DAY_MS) * DAY_MS), isoDay(Math.min(daysTo, Math.ceil(endMs / DAY_MS) * DAY_MS))],
      );
      for (const r of rows) {
        const fromMs = Date.parse(`${r.day}T00:00:00Z`);
        add(r.id, { state: 'MIXED', fromMs, toMs: fromMs + DAY_MS, knownMs: Number(r.known), downMs: Number(r.down) });
      }
    }
    const hourStart = Math.max(startMs, hoursFrom);
    if (hourStart < Math.min(hoursTo, endMs)) {
      const { rows } = await this.sql.query<{ id: string; hour: Date; known: string; down: string }>(
        `SELECT service_id::text AS id, hour, known_ms AS known, down_ms AS down FROM availability_hours
          WHERE service_id = ANY($1::uuid[]) AND hour >= $2 AND hour < $3`,
        [serviceIds, new Date(Math.floor(hourStart / HOUR_MS) * HOUR_MS), new Date(Math.min(hoursTo, endMs))],
      );
      for (const r of rows) {
        const fromMs = r.hour.getTime();
        add(r.id, { state: 'MIXED', fromMs, toMs: fromMs + HOUR_MS, knownMs: Number(r.known), downMs: Number(r.down) });
      }
    }
    // What is not rolled up, from the state changes: a gap between days and hours (hours past their retention), and the time since the last rolled-up hour.
    for (const [from, to] of [
      [Math.max(startMs, daysTo), Math.min(endMs, hoursFrom)],
      [Math.max(startMs, hoursTo), endMs],
    ]) {
      if (from >= to) continue;
      for (const [id, s] of (await this.changeSpans(serviceIds, from, to)).spans) for (const span of s) add(id, span);
    }
    for (const list of out.values()) list.sort((a, b) => a.fromMs - b.fromMs);
    return out;
  }

  async watermarks(): Promise<{ hours: number | null; days: number | null }> {
    const { rows } = await this.sql.query<{ name: string; through: Date }>(`SELECT name, through FROM rollup_watermarks WHERE name IN ('availability_hours', 'availability_days')`);
    const of = (name: string) => rows.find((r) => r.name === name)?.through.getTime() ?? null;
    return { hours: of('availability_hours'), days: of('availability_days') };
  }

  /**
   * Rolls up closed hours and days not yet rolled up (the elected leader
   * calls it every minute): at most two days of hours and a month of days
   * per call. Hours start at the hour retention's reach, days at the first
   * state change recorded.
   */
  async rollUp(nowMs = Date.now()): Promise<{ hours: number; days: number }> {
    const marks = await this.watermarks();
    const closedHour = Math.floor((nowMs - ROLLUP_LAG_MS) / HOUR_MS) * HOUR_MS;
    const closedDay = Math.floor((nowMs - ROLLUP_LAG_MS) / DAY_MS) * DAY_MS;
    let hours = 0;
    let days = 0;
    // Not hours past their retention (a leader that was away long would roll up what is deleted next).
    const hourFrom = Math.max(marks.hours ?? -Infinity, Math.floor((nowMs - this.config.ROLLUP_HOUR_RETENTION_DAYS * DAY_MS) / HOUR_MS) * HOUR_MS);
    if (hourFrom < closedHour) {
      const to = Math.min(closedHour, hourFrom + HOURS_PER_RUN * HOUR_MS);
      hours = await this.rollPeriods(null, hourFrom, to, HOUR_MS);
      await this.setWatermark('availability_hours', to);
    }
    let dayFrom = marks.days;
    if (dayFrom === null) {
      const { rows } = await this.sql.query<{ first: Date | null }>('SELECT min(at) AS first FROM service_transitions');
      dayFrom = rows[0].first ? Math.max(Math.floor(rows[0].first.getTime() / DAY_MS) * DAY_MS, closedDay - this.config.ROLLUP_DAY_RETENTION_DAYS * DAY_MS) : closedDay;
    }
    if (dayFrom < closedDay) {
      const to = Math.min(closedDay, dayFrom + DAYS_PER_RUN * DAY_MS);
      days = await this.rollPeriods(null, dayFrom, to, DAY_MS);
      await this.setWatermark('availability_days', to);
    } else if (marks.days === null) await this.setWatermark('availability_days', dayFrom);
    return { hours, days };
  }

  /**
   * Rolls up again the hours and days of a service that overlap [fromMs,
   * toMs) and are already rolled up: after its maintenance windows changed.
   */
  async rebuild(serviceId: string, fromMs: number, toMs: number): Promise<void> {
    const marks = await this.watermarks();
    const hoursFrom = Math.floor(fromMs / HOUR_MS) * HOUR_MS;
    const hoursTo = Math.min(marks.hours ?? -Infinity, Math.ceil(toMs / HOUR_MS) * HOUR_MS);
    if (hoursFrom < hoursTo) await this.rollPeriods(serviceId, Math.max(hoursFrom, hoursTo - this.config.ROLLUP_HOUR_RETENTION_DAYS * DAY_MS), hoursTo, HOUR_MS);
    const daysFrom = Math.floor(fromMs / DAY_MS) * DAY_MS;
    const daysTo = Math.min(marks.days ?? -Infinity, Math.ceil(toMs / DAY_MS) * DAY_MS);
    if (daysFrom < daysTo) await this.rollPeriods(serviceId, Math.max(daysFrom, daysTo - this.config.ROLLUP_DAY_RETENTION_DAYS * DAY_MS), daysTo, DAY_MS);
  }

  /** Writes the rollups of periods of `grainMs` in [fromMs, toMs) of one service or (null) of all; returns the rows written. */
  private async rollPeriods(serviceId: string | null, fromMs: number, toMs: number, grainMs: number): Promise<number> {
    const ids = serviceId ? [serviceId] : (await this.sql.query<{ id: string }>('SELECT id::text AS id FROM services')).rows.map((r) => r.id);
    const table = grainMs === HOUR_MS ? 'availability_hours' : 'availability_days';
    const period = grainMs === HOUR_MS ? 'hour' : 'day';
    let written = 0;
    // A thousand services at a time: memory stays bounded however many there are.
    for (let i = 0; i < ids.length; i += 1000) {
      const batch = ids.slice(i, i + 1000);
      const { spans } = await this.changeSpans(batch, fromMs, toMs);
      const rows = { id: [] as string[], at: [] as string[], known: [] as number[], down: [] as number[] };
      for (const [id, s] of spans) {
        for (let t = fromMs; t < toMs; t += grainMs) {
          const a = availabilityOver(s, t, t + grainMs);
          if (a.knownSeconds <= 0) continue;
          rows.id.push(id);
          rows.at.push(grainMs === HOUR_MS ? new Date(t).toISOString() : isoDay(t));
          rows.known.push(Math.round(a.knownSeconds * 1000));
          rows.down.push(Math.round(a.downSeconds * 1000));
        }
      }
      await this.sql.transaction(async (tx) => {
        // Periods with nothing known have no row: delete what an earlier roll-up wrote.
        await tx.query(`DELETE FROM ${table} WHERE service_id = ANY($1::uuid[]) AND ${period} >= $2 AND ${period} < $3`, [
          batch,
          grainMs === HOUR_MS ? new Date(fromMs) : isoDay(fromMs),
          grainMs === HOUR_MS ? new Date(toMs) : isoDay(toMs),
        ]);
        if (rows.id.length === 0) return;
        await tx.query(
          `INSERT INTO ${table} (service_id, ${period}, known_ms, down_ms)
           SELECT * FROM unnest($1::uuid[], $2::${grainMs === HOUR_MS ? 'timestamptz' : 'date'}[], $3::bigint[], $4::bigint[])`,
          [rows.id, rows.at, rows.known, rows.down],
        );
      });
      written += rows.id.length;
    }
    return written;
  }

  private async setWatermark(name: string, throughMs: number): Promise<void> {
    await this.sql.query(`INSERT INTO rollup_watermarks (name, through) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET through = excluded.through`, [name, new Date(throughMs)]);
  }
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Kept state spans are read again at least this often (rollups move on, hours close). */
const KEPT_REREAD_MS = 10 * 60_000;

/**
 * State spans kept between the runs of a periodic reader (the SLO leader):
 * read again only when a state change was recorded, a maintenance window
 * was added, changed or removed, one starts or ends, the range starts
 * earlier, other services are asked for, or ten minutes have passed. Each
 * service's last span is left open, so it reaches whatever "now" a later run has.
 */
export class KeptSpans {
  private kept: { ids: Set<string>; startMs: number; atMs: number; stamp: string; validUntilMs: number; spans: Map<string, StateSpan[]> } | null = null;

  constructor(
    private readonly rollups: AvailabilityRollups,
    private readonly sql: SqlPool,
  ) {}

  /** Spans of these services from `startMs` on (up to now and beyond: the last one is open). */
  async spans(serviceIds: string[], startMs: number, nowMs: number): Promise<Map<string, StateSpan[]>> {
    const { rows } = await this.sql.query<{ t: string | null; m: string; next: Date | null }>(
      `SELECT (SELECT max(id) FROM service_transitions)::text AS t,
              (SELECT count(*)::text || '|' || coalesce(sum(extract(epoch FROM starts_at)), 0)::text || '|' || coalesce(sum(extract(epoch FROM ends_at)), 0)::text FROM maintenance_windows) AS m,
              (SELECT min(b) FROM (SELECT starts_at AS b FROM maintenance_windows WHERE starts_at > $1 UNION ALL SELECT ends_at FROM maintenance_windows WHERE ends_at > $1) x) AS next`,
      [new Date(nowMs)],
    );
    const stamp = `${rows[0].t}|${rows[0].m}`;
    const k = this.kept;
    if (k && k.stamp === stamp && startMs >= k.startMs && nowMs < k.validUntilMs && nowMs - k.atMs < KEPT_REREAD_MS && serviceIds.every((id) => k.ids.has(id))) return k.spans;
    const spans = await this.rollups.spans(serviceIds, startMs, nowMs, nowMs);
    for (const list of spans.values()) {
      const last = list[list.length - 1];
      if (last && last.toMs === nowMs && last.state !== 'MIXED') list[list.length - 1] = { state: last.state, fromMs: last.fromMs, toMs: Infinity };
    }
    this.kept = { ids: new Set(serviceIds), startMs, atMs: nowMs, stamp, validUntilMs: rows[0].next?.getTime() ?? Infinity, spans };
    return spans;
  }
}
