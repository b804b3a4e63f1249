import type { WindowCounts } from './burn-rate.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Requests and the errors among them. */
export interface Tally {
  total: number;
  errors: number;
}

/** Counts of the requests of many services over windows ending now. */
export interface RequestCounts {
  /** Good and total requests of a service over [startMs, now]. */
  of(serviceId: string, startMs: number): WindowCounts;
}

/** Something that runs SQL: a pg pool or one of its clients. */
export interface Queryable {
  query<R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

const ZERO: Tally = Object.freeze({ total: 0, errors: 0 });

/*
 * How the requests of a window [start, now] are counted:
 *  - a window of up to an hour from the minute rollups: every minute that
 *    starts at or after the start's minute (exact to the minute);
 *  - a longer one by the hour (request_hours): every hour after the one the
 *    window starts in, through the current one, plus the part of that first
 *    hour inside the window, its counts pro rata (rounded). A 30-day window
 *    is then 721 rows per service instead of 43,200.
 */

/** Whether a window is counted by the minute. */
export function isMinuteWindow(startMs: number, nowMs: number): boolean {
  return nowMs - startMs <= HOUR_MS;
}

/** The hour a long window starts in, and the share of it inside the window (in (0, 1]). */
export function edgeOf(startMs: number): { hourMs: number; share: number } {
  const hourMs = Math.floor(startMs / HOUR_MS) * HOUR_MS;
  return { hourMs, share: (hourMs + HOUR_MS - startMs) / HOUR_MS };
}

/** A long window's counts from its first hour (taken at `share`), the closed hours after it and the current hour. */
export function hourWindow(edge: Tally, share: number, closed: Tally, current: Tally): WindowCounts {
  // Rounding is monotonic, so errors never exceed total.
  const total = Math.round(edge.total * share) + closed.total + current.total;
  const errors = Math.round(edge.errors * share) + closed.errors + current.errors;
  return { total, good: total - errors };
}

const tally = (total: unknown, errors: unknown): Tally => ({ total: Number(total ?? 0), errors: Number(errors ?? 0) });

/** Per service and window start: the first hour's row and the closed hours after it (before `currentHourMs`). */
type HourSums = Map<string, Map<number, { edge: Tally; closed: Tally }>>;

/**
 * Sums of request_hours per service for each edge hour in one scan: the edge
 * hour's row and the hours after it before the current hour; and the current
 * hour's row.
 */
async function hourSums(db: Queryable, serviceIds: string[], edgesMs: number[], currentHourMs: number): Promise<{ sums: HourSums; current: Map<string, Tally> }> {
  const sums: HourSums = new Map();
  const current = new Map<string, Tally>();
  if (serviceIds.length === 0) return { sums, current };
  const params: unknown[] = [serviceIds, new Date(Math.min(...edgesMs, currentHourMs)), new Date(currentHourMs)];
  const cols = edgesMs.map((e, i) => {
    params.push(new Date(e));
    const p = `$${params.length}`;
    return `sum(total) FILTER (WHERE hour = ${p}) AS e${i}_t, sum(errors) FILTER (WHERE hour = ${p}) AS e${i}_e,
            sum(total) FILTER (WHERE hour > ${p} AND hour < $3) AS c${i}_t, sum(errors) FILTER (WHERE hour > ${p} AND hour < $3) AS c${i}_e`;
  });
  const { rows } = await db.query<Record<string, string | null>>(
    `SELECT service_id::text AS id, ${[...cols, 'sum(total) FILTER (WHERE hour = $3) AS cur_t, sum(errors) FILTER (WHERE hour = $3) AS cur_e'].join(', ')}
       FROM request_hours WHERE service_id = ANY($1::uuid[]) AND hour >= $2 GROUP BY service_id`,
    params,
  );
  for (const r of rows) {
    const id = r.id as string;
    sums.set(id, new Map(edgesMs.map((e, i) => [e, { edge: tally(r[`e${i}_t`], r[`e${i}_e`]), closed: tally(r[`c${i}_t`], r[`c${i}_e`]) }])));
    current.set(id, tally(r.cur_t, r.cur_e));
  }
  return { sums, current };
}

/** Distinct hours that the long windows start in, and minutes that the short ones start in. */
function startsOf(startsMs: number[], nowMs: number): { edges: number[]; minutes: number[] } {
  const edges = new Set<number>();
  const minutes = new Set<number>();
  for (const s of startsMs) {
    if (isMinuteWindow(s, nowMs)) minutes.add(Math.floor(s / MINUTE_MS) * MINUTE_MS);
    else edges.add(edgeOf(s).hourMs);
  }
  return { edges: [...edges].sort((a, b) => a - b), minutes: [...minutes].sort((a, b) => a - b) };
}

/**
 * Request counts of a few services, read afresh: one scan of request_hours
 * for the long windows and one of request_rollups for the short ones, in one
 * REPEATABLE READ snapshot (so no window counts a minute another misses).
 */
export async function queryRequestCounts(
  transaction: <T>(fn: (db: Queryable) => Promise<T>) => Promise<T>,
  serviceIds: string[],
  startsMs: number[],
  nowMs: number,
): Promise<RequestCounts> {
  const currentHourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const { edges, minutes } = startsOf(startsMs, nowMs);
  const { hours, short } = await transaction(async (db) => {
    await db.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const hours = await hourSums(db, serviceIds, edges, currentHourMs);
    const short = new Map<string, Map<number, Tally>>();
    if (minutes.length > 0 && serviceIds.length > 0) {
      const params: unknown[] = [serviceIds, new Date(minutes[0])];
      const cols = minutes.map((m, i) => {
        params.push(new Date(m));
        return `sum(total) FILTER (WHERE minute >= $${params.length}) AS m${i}_t, sum(errors) FILTER (WHERE minute >= $${params.length}) AS m${i}_e`;
      });
      const { rows } = await db.query<Record<string, string | null>>(
        `SELECT service_id::text AS id, ${cols.join(', ')} FROM request_rollups WHERE service_id = ANY($1::uuid[]) AND minute >= $2 GROUP BY service_id`,
        params,
      );
      for (const r of rows) short.set(r.id as string, new Map(minutes.map((m, i) => [m, tally(r[`m${i}_t`], r[`m${i}_e`])])));
    }
    return { hours, short };
  });
  return {
    of(serviceId, startMs) {
      if (isMinuteWindow(startMs, nowMs)) return counts(short.get(serviceId)?.get(Math.floor(startMs / MINUTE_MS) * MINUTE_MS) ?? ZERO);
      const { hourMs, share } = edgeOf(startMs);
      const s = hours.sums.get(serviceId)?.get(hourMs);
      return hourWindow(s?.edge ?? ZERO, share, s?.closed ?? ZERO, hours.current.get(serviceId) ?? ZERO);
    },
  };
}

const counts = (t: Tally): WindowCounts => ({ total: t.total, good: t.total - t.errors });

/** Minutes a service's ring keeps: the last hour, the current hour, and room to spare. */
const RING = 64;
/** Minutes before the last refresh's re-read by the next: their rollups still grow while the drain catches up. */
const RECENT_MINUTES = 5;
/** Everything is re-read this often, so counts that arrived later than RECENT_MINUTES are picked up too. */
const FULL_REFRESH_MS = 10 * MINUTE_MS;

/**
 * Request counts kept up to date incrementally, for the SLO evaluator. The
 * hours before the current one are summed once per hour (and re-read every
 * ten minutes, for late counts); each service's minutes of the last hour are
 * kept in a ring, and a refresh re-reads only the minutes since the previous
 * one (and the five before it). So a refresh reads a few rows per service
 * instead of its 30 days of hours.
 */
export class IncrementalRequestCounts {
  /** Per service, per edge hour: the edge's row and the closed hours after it. */
  private hours: HourSums = new Map();
  /** Per service: minute stamp, total and errors for each of RING slots. */
  private rings = new Map<string, Float64Array>();
  private builtFor = '';
  private builtAtMs = -Infinity;
  /** The minute of the last refresh. */
  private readToMs = -Infinity;

  constructor(private readonly transaction: <T>(fn: (db: Queryable) => Promise<T>) => Promise<T>) {}

  /** Whether the last refresh re-read everything (for logs and the benchmark). */
  lastRefreshWasFull = false;

  /** Brings the counts of these services up to `nowMs` for windows starting at `startsMs`. */
  async refresh(serviceIds: string[], startsMs: number[], nowMs: number): Promise<RequestCounts> {
    const currentHourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    const { edges } = startsOf(startsMs, nowMs);
    const key = `${currentHourMs}|${edges.join(',')}`;
    const missing = new Set(serviceIds.filter((id) => !this.rings.has(id)));
    const full = key !== this.builtFor || nowMs - this.builtAtMs >= FULL_REFRESH_MS;
    // The ring must reach back over the last hour and the current hour.
    const ringFromMs = Math.min(Math.floor((nowMs - HOUR_MS) / MINUTE_MS) * MINUTE_MS, currentHourMs);
    this.lastRefreshWasFull = full;
    await this.transaction(async (db) => {
      await db.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      if (full) {
        this.hours = (await hourSums(db, serviceIds, edges, currentHourMs)).sums;
        this.rings = new Map();
        await this.readMinutes(db, serviceIds, ringFromMs);
        this.builtFor = key;
        this.builtAtMs = nowMs;
      } else {
        if (missing.size > 0) {
          for (const [id, s] of (await hourSums(db, [...missing], edges, currentHourMs)).sums) this.hours.set(id, s);
          await this.readMinutes(db, [...missing], ringFromMs);
        }
        const known = serviceIds.filter((id) => !missing.has(id));
        // From a few minutes before the last refresh's minute: those may have grown since, and every later one is new.
        await this.readMinutes(db, known, Math.max(ringFromMs, this.readToMs - (RECENT_MINUTES - 1) * MINUTE_MS));
      }
    });
    this.readToMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
    return {
      of: (serviceId, startMs) => {
        const ring = this.rings.get(serviceId);
        if (isMinuteWindow(startMs, nowMs)) return counts(ring ? sumRing(ring, Math.floor(startMs / MINUTE_MS) * MINUTE_MS, nowMs) : ZERO);
        const { hourMs, share } = edgeOf(startMs);
        const s = this.hours.get(serviceId)?.get(hourMs);
        return hourWindow(s?.edge ?? ZERO, share, s?.closed ?? ZERO, ring ? sumRing(ring, currentHourMs, nowMs) : ZERO);
      },
    };
  }

  /** Re-reads these services' minutes from `fromMs` into their rings. */
  private async readMinutes(db: Queryable, serviceIds: string[], fromMs: number): Promise<void> {
    if (serviceIds.length === 0) return;
    for (const id of serviceIds) if (!this.rings.has(id)) this.rings.set(id, new Float64Array(RING * 3).fill(-1));
    const { rows } = await db.query<{ id: string; ms: string; t: string; e: string }>(
      `SELECT service_id::text AS id, (extract(epoch FROM minute) * 1000)::bigint AS ms, sum(total) AS t, sum(errors) AS e
         FROM request_rollups WHERE minute >= $1 AND service_id = ANY($2::uuid[]) GROUP BY 1, 2`,
      [new Date(fromMs), serviceIds],
    );
    for (const r of rows) {
      const ring = this.rings.get(r.id)!;
      const ms = Number(r.ms);
      const slot = ((ms / MINUTE_MS) % RING) * 3;
      ring[slot] = ms;
      ring[slot + 1] = Number(r.t);
      ring[slot + 2] = Number(r.e);
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
