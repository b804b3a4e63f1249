import { Injectable } from '@nestjs/common';
import { InjectConfig, type NinefoldConfig, SqlPool } from '#core';
import { availabilityOver, spansFrom, type StateSpan, withMaintenance } from './availability.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** A closed hour is rolled up only this long after it ends, so state changes written a little late are in it. */
export const ROLLUP_LAG_MS = 2 * 60_000;
/** Windows reaching further back than this are read by the day; nearer, by the hour. */
const HOURS_BACK_MS = 3 * DAY_MS;
/** A subject with more state changes than this in a range is read from its rollups instead. */
export const MAX_CHANGES_READ = 500;
/** Periods rolled up per run, so a catch-up (first start, a leader that was down) goes in bounded steps. */
const HOURS_PER_RUN = 48;
const DAYS_PER_RUN = 31;

type State = StateSpan['state'];
interface Window {
  fromMs: number;
  toMs: number;
}

/** Whose availability a history holds: a service's own state, or an instance's. */
interface Subject {
  /** The table of state changes, and its column naming the subject. */
  transitions: 'service_transitions' | 'instance_transitions';
  key: 'service_id' | 'instance_id';
  /** The rollup tables (also the names of their watermarks). */
  hours: string;
  days: string;
  /** Maintenance windows overlapping [$2, $3) per subject id of $1, as (id, from, to): a service's windows hold for its instances too. */
  maintenance: string;
}

const SERVICES: Subject = {
  transitions: 'service_transitions',
  key: 'service_id',
  hours: 'availability_hours',
  days: 'availability_days',
  maintenance: `SELECT service_id::text AS id, starts_at AS "from", ends_at AS "to" FROM maintenance_windows
                 WHERE service_id = ANY($1::uuid[]) AND ends_at > $2 AND starts_at < $3`,
};

const INSTANCES: Subject = {
  transitions: 'instance_transitions',
  key: 'instance_id',
  hours: 'instance_availability_hours',
  days: 'instance_availability_days',
  maintenance: `SELECT i.id::text AS id, m.starts_at AS "from", m.ends_at AS "to" FROM instances i JOIN maintenance_windows m ON m.service_id = i.service_id
                 WHERE i.id = ANY($1::uuid[]) AND m.ends_at > $2 AND m.starts_at < $3`,
};

/** What a subject's history holds over a range: its state at the start, its changes in order, and its maintenance windows. */
interface Changes {
  initial: Map<string, State>;
  changes: Map<string, { atMs: number; to: State }[]>;
  windows: Map<string, Window[]>;
  /** With a limit: subjects with more changes than it in the range (their `changes` are cut short). */
  busy: string[];
}

/*
 * Availability history of services and of instances, bounded however much
 * one flapped:
 *  - the elected leader rolls every closed UTC hour and day in which a
 *    subject's state changed up into its hour and day tables: time known and
 *    time DOWN, maintenance left out, and the state the period ended in. A
 *    period without a change has no row: the subject spent it in the state
 *    the last change before it left. Storage grows with the changes, not with
 *    subjects × periods;
 *  - reading a range, a subject's state changes are read directly when there
 *    are at most MAX_CHANGES_READ of them (cheap, and exact); one with more
 *    is read from its rollups: by the day further back than three days, by
 *    the hour nearer, its changes only for the last hour or two (what is not
 *    rolled up yet). A window starting inside a rolled-up period counts that
 *    period's known and down time pro rata; periods without a row are exact.
 */
export class AvailabilityHistory {
  constructor(
    private readonly sql: SqlPool,
    private readonly config: NinefoldConfig,
    private readonly subject: Subject,
  ) {}

  /** State spans over [startMs, endMs), maintenance marked: read from state changes, or from rollups for subjects that changed state very often. */
  async spans(ids: string[], startMs: number, endMs: number, nowMs = Date.now(), maxChanges = MAX_CHANGES_READ): Promise<Map<string, StateSpan[]>> {
    const out = new Map<string, StateSpan[]>();
    if (ids.length === 0 || endMs <= startMs) {
      for (const id of ids) out.set(id, []);
      return out;
    }
    const { spans, busy } = await this.changeSpans(ids, startMs, endMs, maxChanges);
    for (const [id, s] of spans) out.set(id, s);
    if (busy.length > 0) for (const [id, s] of await this.rollupSpans(busy, startMs, endMs, nowMs)) out.set(id, s);
    return out;
  }

  /**
   * Spans from state changes, maintenance marked. With `limit`, subjects
   * with more changes than that in the range are left out and listed in
   * `busy` (at most limit + 1 rows are read per subject).
   */
  async changeSpans(ids: string[], startMs: number, endMs: number, limit?: number, windows?: Map<string, Window[]>): Promise<{ spans: Map<string, StateSpan[]>; busy: string[] }> {
    const h = await this.changes(ids, startMs, endMs, limit, windows);
    const busy = new Set(h.busy);
    const spans = new Map<string, StateSpan[]>();
    for (const [id, ts] of h.changes) {
      if (!busy.has(id)) spans.set(id, withMaintenance(spansFrom(h.initial.get(id) ?? 'UNKNOWN', startMs, ts, endMs), h.windows.get(id) ?? []));
    }
    return { spans, busy: h.busy };
  }

  /** The state at `startMs` (the last change before it), the changes in [startMs, endMs) and the maintenance windows (read unless given), per subject. */
  private async changes(ids: string[], startMs: number, endMs: number, limit?: number, given?: Map<string, Window[]>): Promise<Changes> {
    const { transitions: table, key } = this.subject;
    const start = new Date(startMs);
    const end = new Date(endMs);
    const [initial, within, windows] = await Promise.all([
      this.statesBefore(ids, startMs),
      this.sql.query<{ id: string; at: Date; to: State }>(
        limit === undefined
          ? `SELECT ${key}::text AS id, at, "to" FROM ${table} WHERE ${key} = ANY($1::uuid[]) AND at >= $2 AND at < $3 ORDER BY at, id`
          : `SELECT s.id::text AS id, t.at, t."to" FROM unnest($1::uuid[]) AS s(id)
               CROSS JOIN LATERAL (SELECT at, "to", id FROM ${table} WHERE ${key} = s.id AND at >= $2 AND at < $3 ORDER BY at, id LIMIT ${limit + 1}) t
              ORDER BY t.at, t.id`,
        [ids, start, end],
      ),
      given ?? this.maintenance(ids, startMs, endMs),
    ]);
    const changes = new Map<string, { atMs: number; to: State }[]>(ids.map((id) => [id, []]));
    for (const t of within.rows) changes.get(t.id)?.push({ atMs: t.at.getTime(), to: t.to });
    const busy = limit === undefined ? [] : [...changes].filter(([, ts]) => ts.length > limit).map(([id]) => id);
    return { initial, changes, windows, busy };
  }

  /** Each subject's state just before `atMs`: where its last change before then left it (absent: none). */
  private async statesBefore(ids: string[], atMs: number): Promise<Map<string, State>> {
    const { rows } = await this.sql.query<{ id: string; to: State }>(
      `SELECT s.id::text AS id, t."to" FROM unnest($1::uuid[]) AS s(id)
         CROSS JOIN LATERAL (SELECT "to" FROM ${this.subject.transitions} WHERE ${this.subject.key} = s.id AND at < $2 ORDER BY at DESC, id DESC LIMIT 1) t`,
      [ids, new Date(atMs)],
    );
    return new Map(rows.map((r) => [r.id, r.to]));
  }

  /** Maintenance windows overlapping [startMs, endMs), per subject. */
  async maintenance(ids: string[], startMs: number, endMs: number): Promise<Map<string, Window[]>> {
    const { rows } = await this.sql.query<{ id: string; from: Date; to: Date }>(this.subject.maintenance, [ids, new Date(startMs), new Date(endMs)]);
    const out = new Map<string, Window[]>();
    for (const r of rows) {
      const list = out.get(r.id) ?? [];
      list.push({ fromMs: r.from.getTime(), toMs: r.to.getTime() });
      out.set(r.id, list);
    }
    return out;
  }

  /**
   * Spans of these subjects from their rollups: whole days up to three days
   * back (or as far as days are rolled up), then hours up to the one before
   * the current (or as far as hours are), then state changes. What is not
   * rolled up (past the days' retention, a gap between days and hours, the
   * last hour or two) is read from the state changes.
   */
  private async rollupSpans(ids: string[], startMs: number, endMs: number, nowMs: number): Promise<Map<string, StateSpan[]>> {
    const marks = await this.watermarks();
    const daysFrom = Math.ceil((nowMs - this.config.ROLLUP_DAY_RETENTION_DAYS * DAY_MS) / DAY_MS) * DAY_MS;
    // Days until three days back (a UTC midnight), or as far as they are rolled up.
    const daysTo = Math.max(daysFrom, Math.min(marks.days ?? -Infinity, Math.floor((nowMs - HOURS_BACK_MS) / DAY_MS) * DAY_MS));
    // Then hours, from where they are still kept, to the hour before the current one (or as far as they are rolled up).
    const hoursFrom = Math.max(daysTo, Math.ceil((nowMs - this.config.ROLLUP_HOUR_RETENTION_DAYS * DAY_MS) / HOUR_MS) * HOUR_MS);
    const hoursTo = Math.max(hoursFrom, Math.min(marks.hours ?? -Infinity, Math.floor(nowMs / HOUR_MS) * HOUR_MS - HOUR_MS));
    const out = new Map<string, StateSpan[]>(ids.map((id) => [id, []]));
    const parts: [from: number, to: number, grainMs: number | null][] = [
      [-Infinity, daysFrom, null],
      [daysFrom, daysTo, DAY_MS],
      [daysTo, hoursFrom, null],
      [hoursFrom, hoursTo, HOUR_MS],
      [hoursTo, Infinity, null],
    ];
    // Clipped to the range; parts read from the changes that meet (the rolled-up part between them is empty) are read as one.
    const segments: { from: number; to: number; grainMs: number | null; lastMs: number }[] = [];
    for (const [lo, hi, grainMs] of parts) {
      const from = Math.max(startMs, lo);
      const to = Math.min(endMs, hi);
      if (from >= to) continue;
      const prev = segments[segments.length - 1];
      if (grainMs === null && prev?.grainMs === null && prev.to === from) prev.to = to;
      else segments.push({ from, to, grainMs, lastMs: grainMs === null ? to : Math.min(hi, Math.ceil(to / grainMs) * grainMs) });
    }
    // The maintenance windows once for the whole range.
    const windows = await this.maintenance(ids, startMs, endMs);
    for (const g of segments) {
      const spans = g.grainMs === null ? (await this.changeSpans(ids, g.from, g.to, undefined, windows)).spans : await this.periodSpans(ids, g.from, g.to, g.lastMs, g.grainMs, windows);
      for (const [id, s] of spans) out.get(id)?.push(...s);
    }
    return out;
  }

  /**
   * Spans over [fromMs, toMs) from the rollups of periods of `grainMs` up to
   * `lastMs`: a rolled-up period as a MIXED span (whole, counted pro rata
   * where a window cuts it), the periods between in the state the last
   * change before them left (marked with the maintenance `windows`).
   */
  private async periodSpans(ids: string[], fromMs: number, toMs: number, lastMs: number, grainMs: number, windows: Map<string, Window[]>): Promise<Map<string, StateSpan[]>> {
    const { key } = this.subject;
    const table = grainMs === HOUR_MS ? this.subject.hours : this.subject.days;
    const period = grainMs === HOUR_MS ? 'hour' : 'day';
    const firstMs = Math.floor(fromMs / grainMs) * grainMs;
    const [initial, rolled] = await Promise.all([
      this.statesBefore(ids, firstMs),
      this.sql.query<{ id: string; at: number; known: string; down: string; end: State }>(
        `SELECT ${key}::text AS id, (extract(epoch FROM ${period}) * 1000)::float8 AS at, known_ms AS known, down_ms AS down, end_state AS "end" FROM ${table}
          WHERE ${key} = ANY($1::uuid[]) AND ${period} >= $2 AND ${period} < $3 ORDER BY 1, 2`,
        [ids, grainMs === HOUR_MS ? new Date(firstMs) : isoDay(firstMs), grainMs === HOUR_MS ? new Date(lastMs) : isoDay(lastMs)],
      ),
    ]);
    const rows = new Map<string, typeof rolled.rows>();
    for (const r of rolled.rows) (rows.get(r.id) ?? rows.set(r.id, []).get(r.id)!).push(r);
    const out = new Map<string, StateSpan[]>();
    for (const id of ids) {
      const spans: StateSpan[] = [];
      const w = windows.get(id) ?? [];
      let state = initial.get(id) ?? 'UNKNOWN';
      let at = fromMs;
      const hold = (until: number) => {
        if (Math.min(until, toMs) > at) spans.push(...withMaintenance([{ state, fromMs: at, toMs: Math.min(until, toMs) }], w));
      };
      for (const r of rows.get(id) ?? []) {
        hold(r.at);
        spans.push({ state: 'MIXED', fromMs: r.at, toMs: r.at + grainMs, knownMs: Number(r.known), downMs: Number(r.down) });
        state = r.end;
        at = r.at + grainMs;
      }
      hold(toMs);
      out.set(id, spans);
    }
    return out;
  }

  async watermarks(): Promise<{ hours: number | null; days: number | null }> {
    const { hours, days } = this.subject;
    const { rows } = await this.sql.query<{ name: string; through: Date }>(`SELECT name, through FROM rollup_watermarks WHERE name IN ($1, $2)`, [hours, days]);
    const of = (name: string) => rows.find((r) => r.name === name)?.through.getTime() ?? null;
    return { hours: of(hours), days: of(days) };
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
      await this.setWatermark(this.subject.hours, to);
    }
    let dayFrom = marks.days;
    if (dayFrom === null) {
      const { rows } = await this.sql.query<{ first: Date | null }>(`SELECT min(at) AS first FROM ${this.subject.transitions}`);
      dayFrom = rows[0].first ? Math.max(Math.floor(rows[0].first.getTime() / DAY_MS) * DAY_MS, closedDay - this.config.ROLLUP_DAY_RETENTION_DAYS * DAY_MS) : closedDay;
    }
    if (dayFrom < closedDay) {
      const to = Math.min(closedDay, dayFrom + DAYS_PER_RUN * DAY_MS);
      days = await this.rollPeriods(null, dayFrom, to, DAY_MS);
      await this.setWatermark(this.subject.days, to);
    } else if (marks.days === null) await this.setWatermark(this.subject.days, dayFrom);
    return { hours, days };
  }

  /** Rolls up again the hours and days of these subjects that overlap [fromMs, toMs) and are already rolled up: after maintenance windows changed. */
  async rebuild(ids: string[], fromMs: number, toMs: number): Promise<void> {
    if (ids.length === 0) return;
    const marks = await this.watermarks();
    const hoursFrom = Math.floor(fromMs / HOUR_MS) * HOUR_MS;
    const hoursTo = Math.min(marks.hours ?? -Infinity, Math.ceil(toMs / HOUR_MS) * HOUR_MS);
    if (hoursFrom < hoursTo) await this.rollPeriods(ids, Math.max(hoursFrom, hoursTo - this.config.ROLLUP_HOUR_RETENTION_DAYS * DAY_MS), hoursTo, HOUR_MS);
    const daysFrom = Math.floor(fromMs / DAY_MS) * DAY_MS;
    const daysTo = Math.min(marks.days ?? -Infinity, Math.ceil(toMs / DAY_MS) * DAY_MS);
    if (daysFrom < daysTo) await this.rollPeriods(ids, Math.max(daysFrom, daysTo - this.config.ROLLUP_DAY_RETENTION_DAYS * DAY_MS), daysTo, DAY_MS);
  }

  /**
   * Writes the rollups of the periods of `grainMs` in [fromMs, toMs) in
   * which these subjects (null: every one that changed state then) changed
   * state; returns the rows written.
   */
  private async rollPeriods(given: string[] | null, fromMs: number, toMs: number, grainMs: number): Promise<number> {
    const { transitions, key } = this.subject;
    const ids = given ?? (await this.sql.query<{ id: string }>(`SELECT DISTINCT ${key}::text AS id FROM ${transitions} WHERE at >= $1 AND at < $2`, [new Date(fromMs), new Date(toMs)])).rows.map((r) => r.id);
    const table = grainMs === HOUR_MS ? this.subject.hours : this.subject.days;
    const period = grainMs === HOUR_MS ? 'hour' : 'day';
    const periodOf = (ms: number) => (grainMs === HOUR_MS ? new Date(ms).toISOString() : isoDay(ms));
    let written = 0;
    // A thousand subjects at a time: memory stays bounded however many there are.
    for (let i = 0; i < ids.length; i += 1000) {
      const batch = ids.slice(i, i + 1000);
      const h = await this.changes(batch, fromMs, toMs);
      const rows = { id: [] as string[], at: [] as string[], known: [] as number[], down: [] as number[], end: [] as string[] };
      for (const [id, changes] of h.changes) {
        if (changes.length === 0) continue;
        const spans = withMaintenance(spansFrom(h.initial.get(id) ?? 'UNKNOWN', fromMs, changes, toMs), h.windows.get(id) ?? []);
        for (let c = 0; c < changes.length; ) {
          const p = Math.floor(changes[c].atMs / grainMs) * grainMs;
          while (c < changes.length && changes[c].atMs < p + grainMs) c++;
          const a = availabilityOver(spans, p, p + grainMs);
          rows.id.push(id);
          rows.at.push(periodOf(p));
          rows.known.push(Math.round(a.knownSeconds * 1000));
          rows.down.push(Math.round(a.downSeconds * 1000));
          rows.end.push(changes[c - 1].to);
        }
      }
      await this.sql.transaction(async (tx) => {
        await tx.query(`DELETE FROM ${table} WHERE ${key} = ANY($1::uuid[]) AND ${period} >= $2 AND ${period} < $3`, [batch, periodOf(fromMs), periodOf(toMs)]);
        if (rows.id.length === 0) return;
        await tx.query(
          `INSERT INTO ${table} (${key}, ${period}, known_ms, down_ms, end_state)
           SELECT * FROM unnest($1::uuid[], $2::${grainMs === HOUR_MS ? 'timestamptz' : 'date'}[], $3::bigint[], $4::bigint[], $5::text[])`,
          [rows.id, rows.at, rows.known, rows.down, rows.end],
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

/** The availability histories of services and of instances, and their upkeep. */
@Injectable()
export class AvailabilityRollups {
  readonly services: AvailabilityHistory;
  readonly instances: AvailabilityHistory;

  constructor(
    private readonly sql: SqlPool,
    @InjectConfig() config: NinefoldConfig,
  ) {
    this.services = new AvailabilityHistory(sql, config, SERVICES);
    this.instances = new AvailabilityHistory(sql, config, INSTANCES);
  }

  /** Rolls up the closed periods of services and instances not yet rolled up (see {@link AvailabilityHistory.rollUp}); the rows written. */
  async rollUp(nowMs = Date.now()): Promise<{ services: { hours: number; days: number }; instances: { hours: number; days: number } }> {
    return { services: await this.services.rollUp(nowMs), instances: await this.instances.rollUp(nowMs) };
  }

  /** Rolls up again what a change of a service's maintenance windows over [fromMs, toMs) touched: its periods and its instances'. */
  async rebuild(serviceId: string, fromMs: number, toMs: number): Promise<void> {
    await this.services.rebuild([serviceId], fromMs, toMs);
    const { rows } = await this.sql.query<{ id: string }>(`SELECT DISTINCT instance_id::text AS id FROM instance_transitions WHERE service_id = $1 AND at >= $2 AND at < $3`, [
      serviceId,
      new Date(Math.floor(fromMs / DAY_MS) * DAY_MS),
      new Date(Math.ceil(toMs / DAY_MS) * DAY_MS),
    ]);
    await this.instances.rebuild(
      rows.map((r) => r.id),
      fromMs,
      toMs,
    );
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
    const spans = await this.rollups.services.spans(serviceIds, startMs, nowMs, nowMs);
    for (const list of spans.values()) {
      const last = list[list.length - 1];
      if (last && last.toMs === nowMs && last.state !== 'MIXED') list[list.length - 1] = { state: last.state, fromMs: last.fromMs, toMs: Infinity };
    }
    this.kept = { ids: new Set(serviceIds), startMs, atMs: nowMs, stamp, validUntilMs: rows[0].next?.getTime() ?? Infinity, spans };
    return spans;
  }
}
