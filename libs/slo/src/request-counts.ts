import type { WindowCounts } from './burn-rate.js';
import { Stopwatch } from './stopwatch.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Requests and the errors among them. */
export interface Tally {
  total: number;
  errors: number;
}

/**
 * What a series of counts counts: a service's requests and the errors among
 * them, or its requests whose latency was measured and those among them not
 * known to have taken at most `thresholdMs` (latency buckets are counted
 * good up to the largest bound not above the threshold).
 */
export type Measure = { kind: 'requests' } | { kind: 'latency'; thresholdMs: number };

export const REQUESTS: Measure = Object.freeze({ kind: 'requests' });

/** The key of a service's series of a measure. */
export function seriesOf(serviceId: string, measure: Measure): string {
  return measure.kind === 'requests' ? serviceId : `${serviceId}@${measure.thresholdMs}`;
}

/** The services whose counts of one measure are wanted. */
export interface SeriesGroup {
  measure: Measure;
  serviceIds: string[];
}

/** The SQL that sums a measure's total and errors over rollup rows. */
function columnsOf(measure: Measure): { total: string; errors: string } {
  if (measure.kind === 'requests') return { total: 'total', errors: 'errors' };
  const t = measure.thresholdMs;
  if (!(Number.isFinite(t) && t > 0)) throw new Error(`latency threshold ${t} is not a positive number of ms`);
  return { total: 'latency_total', errors: `(latency_total - ninefold_latency_within(latency, ${t}))` };
}

/** Counts of series (see {@link seriesOf}) over windows ending now. */
export interface RequestCounts {
  /** Good and total events of a series over [startMs, now]. */
  of(series: string, startMs: number): WindowCounts;
}

/** Something that runs SQL: a pg pool or one of its clients. */
export interface Queryable {
  query<R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

const ZERO: Tally = Object.freeze({ total: 0, errors: 0 });

/*
 * How the requests of a window [start, now] are counted, so that a 30-day
 * window reads 31 rows per service instead of 43,200:
 *  - up to an hour long, from the minute rollups: every minute that starts at
 *    or after the start's minute (exact to the minute);
 *  - up to three days, by the hour (request_hours): every hour after the one
 *    the window starts in, through the current one, plus the part of that
 *    first hour inside the window, its counts pro rata (rounded);
 *  - longer, by the UTC day (request_days) in the same way: the first day
 *    pro rata, the days after it, then today's hours.
 */

const DAY_MS = 86_400_000;
/** The longest window counted by the hour. */
export const HOUR_WINDOW_MAX_MS = 3 * DAY_MS;

/** Whether a window is counted by the minute. */
export function isMinuteWindow(startMs: number, nowMs: number): boolean {
  return nowMs - startMs <= HOUR_MS;
}

/** The hour or day a longer window starts in (by its length), and the share of it inside the window (in (0, 1]). */
export function edgeOf(startMs: number, nowMs: number): { grain: 'hour' | 'day'; startMs: number; share: number } {
  const grainMs = nowMs - startMs <= HOUR_WINDOW_MAX_MS ? HOUR_MS : DAY_MS;
  const edge = Math.floor(startMs / grainMs) * grainMs;
  return { grain: grainMs === HOUR_MS ? 'hour' : 'day', startMs: edge, share: (edge + grainMs - startMs) / grainMs };
}

/** A long window's counts from its first hour or day (taken at `share`), the closed periods after it and the current hour. */
export function edgeWindow(edge: Tally, share: number, closed: Tally, current: Tally): WindowCounts {
  // Rounding is monotonic, so errors never exceed total.
  const total = Math.round(edge.total * share) + closed.total + current.total;
  const errors = Math.round(edge.errors * share) + closed.errors + current.errors;
  return { total, good: total - errors };
}

const tally = (total: unknown, errors: unknown): Tally => ({ total: Number(total ?? 0), errors: Number(errors ?? 0) });
const plus = (a: Tally, b: Tally): Tally => ({ total: a.total + b.total, errors: a.errors + b.errors });
const keyOf = (edge: { grain: 'hour' | 'day'; startMs: number }) => `${edge.grain}:${edge.startMs}`;

/** Per service and window edge (`hour:<ms>` or `day:<ms>`): the edge's row, and everything after it before the current hour. */
type ClosedSums = Map<string, Map<string, { edge: Tally; closed: Tally }>>;

/**
 * Sums per service for each edge, in one scan of request_days and one of
 * request_hours: the edge day's or hour's row, and the closed periods after
 * it up to the current hour. Whole days are read by the day: a day edge's
 * closed periods are the days after it and today's hours; an hour edge
 * before today (a 1- or 3-day window) takes the rest of its day by the hour,
 * the days between by the day, then today's hours. So the hours read are
 * today's and the rest of the days the hour edges fall in, not every hour of
 * three days (a day's row is the sum of its hours: the ingest drain adds
 * both in one transaction).
 */
async function closedSums(
  db: Queryable,
  measure: Measure,
  serviceIds: string[],
  edges: { grain: 'hour' | 'day'; startMs: number }[],
  nowMs: number,
): Promise<ClosedSums> {
  const { total, errors } = columnsOf(measure);
  const series = (id: string) => seriesOf(id, measure);
  const sums: ClosedSums = new Map(serviceIds.map((id) => [series(id), new Map()]));
  if (serviceIds.length === 0) return sums;
  const currentHourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const todayMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const dayOf = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
  const days = edges.filter((e) => e.grain === 'day');
  const hours = edges.filter((e) => e.grain === 'hour');
  // Hour edges of earlier days: the rest of their day by the hour, then whole days.
  const spanning = hours.filter((e) => dayOf(e.startMs) < todayMs);
  /** Per hour edge, its place among the spanning ones (-1: today's). */
  const spanAt = hours.map((e) => spanning.indexOf(e));
  const sumsOf = (cond: string, name: string) => `sum(${total}) FILTER (WHERE ${cond}) AS ${name}_t, sum(${errors}) FILTER (WHERE ${cond}) AS ${name}_e`;
  const tallyOf = (r: Record<string, string | null> | undefined, name: string) => tally(r?.[`${name}_t`], r?.[`${name}_e`]);

  // The days' scan is sent first: the connection runs it, then the hours', without a round trip between.
  let dayRows: Promise<{ rows: Record<string, string | null>[] }> | null = null;
  if (days.length + spanning.length > 0) {
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const params: unknown[] = [serviceIds, day(Math.min(...days.map((e) => e.startMs), ...spanning.map((e) => dayOf(e.startMs)))), day(todayMs)];
    const param = (ms: number) => {
      params.push(day(ms));
      return `$${params.length}::date`;
    };
    const cols = [
      ...days.map((e, i) => {
        const p = param(e.startMs);
        return `${sumsOf(`day = ${p}`, `e${i}`)}, ${sumsOf(`day > ${p} AND day < $3::date`, `c${i}`)}`;
      }),
      ...spanning.map((e, i) => sumsOf(`day > ${param(dayOf(e.startMs))} AND day < $3::date`, `b${i}`)),
    ];
    dayRows = db.query<Record<string, string | null>>(`SELECT service_id::text AS id, ${cols.join(', ')} FROM request_days WHERE service_id = ANY($1::uuid[]) AND day >= $2::date GROUP BY service_id`, params);
  }
  // Not left unhandled while the hours are read.
  dayRows?.catch(() => undefined);
  // Today's hours before the current one, and the rest of each earlier hour edge's day.
  const params: unknown[] = [serviceIds, new Date(todayMs), new Date(currentHourMs)];
  const param = (ms: number) => {
    params.push(new Date(ms));
    return `$${params.length}`;
  };
  const ranges = ['(hour >= $2 AND hour < $3)'];
  const cols = hours.map((e, i) => {
    const p = param(e.startMs);
    const end = dayOf(e.startMs) < todayMs ? param(dayOf(e.startMs) + DAY_MS) : '$3';
    if (end !== '$3') ranges.push(`(hour >= ${p} AND hour < ${end})`);
    return `${sumsOf(`hour = ${p}`, `e${i}`)}, ${sumsOf(`hour > ${p} AND hour < ${end}`, `c${i}`)}`;
  });
  const { rows } = await db.query<Record<string, string | null>>(
    `SELECT service_id::text AS id, ${[...cols, sumsOf('hour >= $2 AND hour < $3', 'today')].join(', ')}
       FROM request_hours WHERE service_id = ANY($1::uuid[]) AND (${ranges.join(' OR ')}) GROUP BY service_id`,
    params,
  );
  const hourRows = new Map(rows.map((r) => [r.id as string, r]));
  const dayRowsById = new Map(dayRows ? (await dayRows).rows.map((r) => [r.id as string, r]) : []);
  // Every service: one with no rows of one kind may have rows of the other.
  for (const id of serviceIds) {
    const h = hourRows.get(id);
    const d = dayRowsById.get(id);
    const today = tallyOf(h, 'today');
    const set = (e: { grain: 'hour' | 'day'; startMs: number }, edge: Tally, closed: Tally) => sums.get(series(id))?.set(keyOf(e), { edge, closed });
    hours.forEach((e, i) => {
      const j = spanAt[i];
      set(e, tallyOf(h, `e${i}`), j < 0 ? tallyOf(h, `c${i}`) : plus(plus(tallyOf(h, `c${i}`), tallyOf(d, `b${j}`)), today));
    });
    days.forEach((e, i) => set(e, tallyOf(d, `e${i}`), plus(tallyOf(d, `c${i}`), today)));
  }
  return sums;
}

/** Distinct edges the long windows start at, and minutes that the short ones start in. */
function startsOf(startsMs: number[], nowMs: number): { edges: { grain: 'hour' | 'day'; startMs: number }[]; minutes: number[] } {
  const edges = new Map<string, { grain: 'hour' | 'day'; startMs: number }>();
  const minutes = new Set<number>();
  for (const s of startsMs) {
    if (isMinuteWindow(s, nowMs)) minutes.add(Math.floor(s / MINUTE_MS) * MINUTE_MS);
    else {
      const e = edgeOf(s, nowMs);
      edges.set(keyOf(e), { grain: e.grain, startMs: e.startMs });
    }
  }
  return { edges: [...edges.values()].sort((a, b) => a.startMs - b.startMs), minutes: [...minutes].sort((a, b) => a - b) };
}

/**
 * Request counts of a few services, read afresh: one scan each of
 * request_days, request_hours and request_rollups, in one snapshot.
 */
export async function queryRequestCounts(
  transaction: <T>(fn: (db: Queryable) => Promise<T>) => Promise<T>,
  groups: SeriesGroup[],
  startsMs: number[],
  nowMs: number,
): Promise<RequestCounts> {
  const { edges, minutes } = startsOf(startsMs, nowMs);
  const sums: ClosedSums = new Map();
  return fromSums(nowMs, sums, await readSums(transaction, groups, edges, minutes, nowMs, sums, (g) => g.serviceIds));
}

/**
 * In one snapshot, per group: the closed sums of the services `closedFor`
 * names, into `closed`; returns every service's minute sums (from
 * {@link shortStarts}).
 */
async function readSums(
  transaction: <R>(fn: (db: Queryable) => Promise<R>) => Promise<R>,
  groups: SeriesGroup[],
  edges: { grain: 'hour' | 'day'; startMs: number }[],
  minutes: number[],
  nowMs: number,
  closed: ClosedSums,
  closedFor: (group: SeriesGroup) => string[],
): Promise<Map<string, Map<number, Tally>>> {
  const short = new Map<string, Map<number, Tally>>();
  await inSnapshot(transaction, async (db) => {
    for (const group of groups) {
      const ids = closedFor(group);
      if (ids.length > 0) for (const [k, v] of await closedSums(db, group.measure, ids, edges, nowMs)) closed.set(k, v);
      for (const [k, v] of await minuteSums(db, group.measure, group.serviceIds, shortStarts(minutes, nowMs))) short.set(k, v);
    }
  });
  return short;
}

/** Where the sums of the minute rollups start: the short windows' minutes, and the current hour. */
function shortStarts(minutes: number[], nowMs: number): number[] {
  return [...new Set([...minutes, Math.floor(nowMs / HOUR_MS) * HOUR_MS])].sort((a, b) => a - b);
}

/** Window counts from closed sums and minute sums (from {@link shortStarts}): the short windows and the current hour both come from the minutes. */
function fromSums(nowMs: number, closed: ClosedSums, short: Map<string, Map<number, Tally>>): RequestCounts {
  const currentHourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  return byRule(nowMs, {
    minutes: (series, fromMs) => short.get(series)?.get(fromMs) ?? ZERO,
    closed: (series, key) => closed.get(series)?.get(key),
    currentHour: (series) => short.get(series)?.get(currentHourMs) ?? ZERO,
  });
}

/** Per series of these groups, the requests of the UTC days from the one `fromMs` falls in up to `toMs` (each day counted whole): a scan of request_days per group. */
export async function daySums(db: Queryable, groups: SeriesGroup[], fromMs: number, toMs: number): Promise<Map<string, Tally>> {
  const out = new Map<string, Tally>();
  for (const { measure, serviceIds } of groups) {
    const { total, errors } = columnsOf(measure);
    const { rows } = await db.query<{ id: string; t: string | null; e: string | null }>(
      `SELECT service_id::text AS id, sum(${total}) AS t, sum(${errors}) AS e FROM request_days
        WHERE service_id = ANY($1::uuid[]) AND day >= $2::date AND day < $3::timestamptz GROUP BY service_id`,
      [serviceIds, new Date(fromMs).toISOString().slice(0, 10), new Date(toMs)],
    );
    for (const r of rows) out.set(seriesOf(r.id, measure), tally(r.t, r.e));
  }
  return out;
}

/** One series' requests per UTC day, from the day `fromMs` falls in, oldest first. */
export async function dailyCounts(db: Queryable, measure: Measure, serviceId: string, fromMs: number): Promise<{ startMs: number; total: number; errors: number }[]> {
  const { total, errors } = columnsOf(measure);
  const { rows } = await db.query<{ day: string; t: string | null; e: string | null }>(
    `SELECT day::text AS day, ${total} AS t, ${errors} AS e FROM request_days WHERE service_id = $1::uuid AND day >= $2::date ORDER BY day`,
    [serviceId, new Date(fromMs).toISOString().slice(0, 10)],
  );
  return rows.map((r) => ({ startMs: Date.parse(`${r.day}T00:00:00Z`), ...tally(r.t, r.e) }));
}

/** Per series, the requests in the minutes from each of `minutes` on: one scan of request_rollups. */
async function minuteSums(db: Queryable, measure: Measure, serviceIds: string[], minutes: number[]): Promise<Map<string, Map<number, Tally>>> {
  const out = new Map<string, Map<number, Tally>>();
  if (minutes.length === 0 || serviceIds.length === 0) return out;
  const { total, errors } = columnsOf(measure);
  const params: unknown[] = [serviceIds, new Date(minutes[0])];
  const cols = minutes.map((m, i) => {
    params.push(new Date(m));
    return `sum(${total}) FILTER (WHERE minute >= $${params.length}) AS m${i}_t, sum(${errors}) FILTER (WHERE minute >= $${params.length}) AS m${i}_e`;
  });
  const { rows } = await db.query<Record<string, string | null>>(
    `SELECT service_id::text AS id, ${cols.join(', ')} FROM request_rollups WHERE service_id = ANY($1::uuid[]) AND minute >= $2 GROUP BY service_id`,
    params,
  );
  for (const r of rows) out.set(seriesOf(r.id as string, measure), new Map(minutes.map((m, i) => [m, tally(r[`m${i}_t`], r[`m${i}_e`])])));
  return out;
}

/** Window counts by the rule above, from wherever each part is kept. */
function byRule(
  nowMs: number,
  parts: {
    /** A service's requests in the minutes from `fromMs` (a minute) to now. */
    minutes(serviceId: string, fromMs: number): Tally;
    /** A service's counts of an edge (`keyOf`) and of the closed periods after it. */
    closed(serviceId: string, edgeKey: string): { edge: Tally; closed: Tally } | undefined;
    currentHour(serviceId: string): Tally;
  },
): RequestCounts {
  // Thousands of series share a few window starts, and each long window of a series reads its current hour: both worked out once.
  const edges = new Map<number, { key: string; share: number }>();
  const currentHours = new Map<string, Tally>();
  return {
    of(serviceId, startMs) {
      if (isMinuteWindow(startMs, nowMs)) {
        const t = parts.minutes(serviceId, Math.floor(startMs / MINUTE_MS) * MINUTE_MS);
        return { total: t.total, good: t.total - t.errors };
      }
      let e = edges.get(startMs);
      if (!e) {
        const edge = edgeOf(startMs, nowMs);
        edges.set(startMs, (e = { key: keyOf(edge), share: edge.share }));
      }
      let current = currentHours.get(serviceId);
      if (!current) currentHours.set(serviceId, (current = parts.currentHour(serviceId)));
      const s = parts.closed(serviceId, e.key);
      return edgeWindow(s?.edge ?? ZERO, e.share, s?.closed ?? ZERO, current);
    },
  };
}

/**
 * A second connection in `db`'s snapshot (exported and imported), for
 * queries to run beside `db`'s; `done` ends it. `db` must be in a
 * REPEATABLE READ transaction.
 */
async function twin(transaction: <R>(fn: (db: Queryable) => Promise<R>) => Promise<R>, db: Queryable): Promise<{ db: Queryable; done: () => Promise<void> }> {
  const { rows } = await db.query<{ s: string }>('SELECT pg_export_snapshot() AS s');
  const snapshot = rows[0].s;
  if (!/^[0-9A-F-]+$/i.test(snapshot)) throw new Error(`unexpected snapshot id ${snapshot}`);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let ready!: (q: Queryable) => void;
  let failed!: (err: unknown) => void;
  const opened = new Promise<Queryable>((resolve, reject) => ((ready = resolve), (failed = reject)));
  const ended = transaction(async (other) => {
    await other.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await other.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
    ready(other);
    await released;
  }).catch((err: unknown) => failed(err));
  const other = await opened;
  return {
    db: other,
    done: async () => {
      release();
      await ended;
    },
  };
}

/** Runs `fn` in one REPEATABLE READ snapshot, so no window counts a minute another misses. */
function inSnapshot<T>(transaction: <R>(fn: (db: Queryable) => Promise<R>) => Promise<R>, fn: (db: Queryable) => Promise<T>): Promise<T> {
  return transaction(async (db) => {
    await db.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    return fn(db);
  });
}

/** For a whole fleet's sums: grouping 10,000 services' hours or minutes spills to disk with the default 4 MB of work_mem. */
const ROOMY = `SET LOCAL work_mem = '64MB'`;

/** Minutes a service's ring keeps: the last hour, the current hour, and room to spare. */
export const RING = 64;
/** Minutes before the last refresh's re-read by the next: their rollups still grow while the drain catches up. */
const RECENT_MINUTES = 5;
/** Everything is re-read this often, so counts that arrived later than RECENT_MINUTES are picked up too. */
const FULL_REFRESH_MS = 10 * MINUTE_MS;

/**
 * Request counts kept up to date incrementally, for the SLO evaluator. The
 * days and hours before the current hour are summed once per hour (and
 * re-read every ten minutes, for late counts); each service's minutes of the last hour are
 * kept in a ring, and a refresh re-reads only the minutes since the previous
 * one (and the five before it). So a refresh reads a few rows per service
 * instead of its 30 days.
 */
export class IncrementalRequestCounts {
  /** Per series (service and measure), per window edge: the edge's row and the closed periods after it. */
  private hours: ClosedSums = new Map();
  /** Per series: minute stamp, total and errors for each of RING slots. */
  private rings = new Map<string, Float64Array>();
  private builtFor = '';
  private builtAtMs = -Infinity;
  /** The minute of the last refresh. */
  private readToMs = -Infinity;
  /** Rings a full refresh left to fill, and their filling once started. */
  private toFill: { groups: SeriesGroup[]; fromMs: number } | null = null;
  private filling: Promise<void> = Promise.resolve();
  /** Whether the rings hold what the last full read left to fill. */
  private ringsFilled = true;

  constructor(private readonly transaction: <T>(fn: (db: Queryable) => Promise<T>) => Promise<T>) {}

  /** Whether the last refresh re-read everything, and how long its reads of closed periods and of minutes took (ms; for logs and the benchmark). */
  lastRefreshWasFull = false;
  lastTimings = { closedMs: 0, minutesMs: 0 };

  /** Brings the counts of these series up to `nowMs` for windows starting at `startsMs`. */
  async refresh(groups: SeriesGroup[], startsMs: number[], nowMs: number): Promise<RequestCounts> {
    const filling = this.settled();
    const currentHourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    const { edges, minutes } = startsOf(startsMs, nowMs);
    const key = `${currentHourMs}|${edges.map(keyOf).join(',')}`;
    let full = key !== this.builtFor || nowMs - this.builtAtMs >= FULL_REFRESH_MS;
    // A full read waits for a filling under way (it starts the rings afresh); an incremental one does not: until
    // the rings are filled, it sums the short windows and the current hour in Postgres instead (a "bridge" run).
    if (full || this.ringsFilled) {
      await filling;
      full ||= key !== this.builtFor;
    }
    if (!full && !this.ringsFilled) return this.bridge(groups, edges, minutes, nowMs);
    // The ring must reach back over the last hour and the current hour.
    const ringFromMs = Math.min(Math.floor((nowMs - HOUR_MS) / MINUTE_MS) * MINUTE_MS, currentHourMs);
    this.lastRefreshWasFull = full;
    const { time: timed, ms: timings } = new Stopwatch(['closedMs', 'minutesMs'] as const);
    // A full read takes the short windows' sums and the current hour from Postgres, and fills the minute rings after the run.
    const short = new Map<string, Map<number, Tally>>();
    const toFill: SeriesGroup[] = [];
    await inSnapshot(this.transaction, async (db) => {
      await db.query(ROOMY);
      if (full) {
        this.hours = new Map();
        this.rings = new Map();
      }
      // A full read sums the minutes on a second connection in the same snapshot, beside the days and hours.
      const minutesDb = full ? await twin(this.transaction, db) : null;
      await minutesDb?.db.query(ROOMY);
      try {
        for (const { measure, serviceIds } of groups) {
          const missing = full ? serviceIds : serviceIds.filter((id) => !this.rings.has(seriesOf(id, measure)));
          if (missing.length > 0) {
            const closing = timed('closedMs', () => closedSums(db, measure, missing, edges, nowMs));
            const shortSums = minutesDb ? timed('minutesMs', () => minuteSums(minutesDb.db, measure, missing, shortStarts(minutes, nowMs))) : null;
            shortSums?.catch(() => undefined);
            for (const [id, s] of await closing) this.hours.set(id, s);
            if (shortSums) {
              for (const [id, m] of await shortSums) short.set(id, m);
              toFill.push({ measure, serviceIds: missing });
            } else await timed('minutesMs', () => this.readMinutes(db, measure, missing, ringFromMs));
          }
          if (full) continue;
          const fresh = new Set(missing);
          // From a few minutes before the last refresh's minute: those may have grown since, and every later one is new.
          await timed('minutesMs', () => this.readMinutes(db, measure, serviceIds.filter((id) => !fresh.has(id)), Math.max(ringFromMs, this.readToMs - (RECENT_MINUTES - 1) * MINUTE_MS)));
        }
      } finally {
        await minutesDb?.done();
      }
    });
    this.readToMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
    this.lastTimings = timings;
    if (full) {
      this.builtFor = key;
      this.builtAtMs = nowMs;
      // The rings, for the incremental refreshes after this one: filled from the ring's start by settled(), once this run has its figures.
      this.toFill = { groups: toFill, fromMs: ringFromMs };
      this.ringsFilled = false;
      return fromSums(nowMs, this.hours, short);
    }
    const fromRing = (series: string, fromMs: number) => {
      const ring = this.rings.get(series);
      return ring ? sumRing(ring, fromMs, nowMs) : ZERO;
    };
    return byRule(nowMs, { minutes: fromRing, closed: (series, k) => this.hours.get(series)?.get(k), currentHour: (series) => fromRing(series, currentHourMs) });
  }

  /**
   * Fills the minute rings a full refresh left to fill, in a snapshot of its
   * own (the evaluator starts it once a run's figures are stored; the next
   * refresh waits for it). On failure the next refresh reads everything again.
   */
  settled(): Promise<void> {
    const pending = this.toFill;
    if (pending) {
      this.toFill = null;
      this.filling = inSnapshot(this.transaction, async (db) => {
        await db.query(ROOMY);
        for (const { measure, serviceIds } of pending.groups) await this.readMinutes(db, measure, serviceIds, pending.fromMs);
      }).then(
        () => {
          this.ringsFilled = true;
        },
        () => {
          this.builtFor = '';
        },
      );
    }
    return this.filling;
  }

  /**
   * An incremental refresh while the rings are being filled: the closed sums
   * kept (read for services new since), the short windows and the current
   * hour summed in Postgres. The rings and their read position are left to
   * the filling.
   */
  private async bridge(groups: SeriesGroup[], edges: { grain: 'hour' | 'day'; startMs: number }[], minutes: number[], nowMs: number): Promise<RequestCounts> {
    this.lastRefreshWasFull = false;
    const started = performance.now();
    const short = await readSums(this.transaction, groups, edges, minutes, nowMs, this.hours, ({ measure, serviceIds }) => serviceIds.filter((id) => !this.hours.has(seriesOf(id, measure))));
    this.lastTimings = { closedMs: 0, minutesMs: performance.now() - started };
    return fromSums(nowMs, this.hours, short);
  }

  /** Re-reads these services' minutes of a measure from `fromMs` into their rings. */
  private async readMinutes(db: Queryable, measure: Measure, serviceIds: string[], fromMs: number): Promise<void> {
    if (serviceIds.length === 0) return;
    for (const id of serviceIds) {
      const series = seriesOf(id, measure);
      if (!this.rings.has(series)) this.rings.set(series, new Float64Array(RING * 3).fill(-1));
    }
    const { total, errors } = columnsOf(measure);
    // One row per service, its minutes packed in one string ("minute,total,errors;…"): a sixtieth of the rows, and cheaper to parse than arrays.
    const { rows } = await db.query<{ id: string; v: string }>(
      `SELECT service_id::text AS id, string_agg((extract(epoch FROM minute)::bigint / 60)::text || ',' || t || ',' || e, ';') AS v
         FROM (SELECT service_id, minute, sum(${total}) AS t, sum(${errors}) AS e FROM request_rollups
                WHERE minute >= $1 AND service_id = ANY($2::uuid[]) GROUP BY 1, 2) m
        GROUP BY service_id`,
      [new Date(fromMs), serviceIds],
    );
    for (const r of rows) putMinutes(this.rings.get(seriesOf(r.id, measure))!, r.v);
  }
}

/**
 * Puts packed minutes ("minute,total,errors;…", non-negative integers) into
 * a ring: one pass over the characters, no intermediate strings (a full
 * read parses 10,000 services' hour of minutes).
 */
export function putMinutes(ring: Float64Array, packed: string): void {
  const values = [0, 0, 0];
  let field = 0;
  let n = 0;
  for (let i = 0; i <= packed.length; i++) {
    const c = i < packed.length ? packed.charCodeAt(i) : 59;
    if (c >= 48 && c <= 57) n = n * 10 + (c - 48);
    else if (c === 44) {
      values[field++] = n;
      n = 0;
    } else if (c === 59) {
      values[field] = n;
      const slot = (values[0] % RING) * 3;
      ring[slot] = values[0] * MINUTE_MS;
      ring[slot + 1] = values[1];
      ring[slot + 2] = values[2];
      field = 0;
      n = 0;
    }
  }
}

/** Requests in a ring's minutes from `fromMs` (a minute) through `nowMs`. */
function sumRing(ring: Float64Array, fromMs: number, nowMs: number): Tally {
  let total = 0;
  let errors = 0;
  for (let m = fromMs; m <= nowMs; m += MINUTE_MS) {
    const slot = ((m / MINUTE_MS) % RING) * 3;
    if (ring[slot] !== m) continue;
    total += ring[slot + 1];
    errors += ring[slot + 2];
  }
  return { total, errors };
}
