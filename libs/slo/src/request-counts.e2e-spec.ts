import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type pg from 'pg';
import { type NinefoldConfig, SqlPool } from '#core';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { BURN_WINDOWS } from './burn-rate.js';
import { HOUR_MS, HOUR_WINDOW_MAX_MS, IncrementalRequestCounts, type Measure, MINUTE_MS, type Queryable, queryRequestCounts, REQUESTS, type SeriesGroup, seriesOf } from './request-counts.js';
import { windowOf } from './window.js';

const DAY_MS = 86_400_000;

/** Minute counts of one service, as a user's agents reported them (with latency buckets: not cumulative, by upper bound in ms). */
type Minutes = Map<number, { total: number; errors: number; buckets?: Record<string, number> }>;

/** The documented rule, computed from the minutes themselves. */
function expected(minutes: Minutes, startMs: number, nowMs: number): { total: number; good: number } {
  let total = 0;
  let errors = 0;
  if (nowMs - startMs <= HOUR_MS) {
    const from = Math.floor(startMs / MINUTE_MS) * MINUTE_MS;
    for (const [m, c] of minutes) if (m >= from && m <= nowMs) ((total += c.total), (errors += c.errors));
  } else {
    const grainMs = nowMs - startMs <= HOUR_WINDOW_MAX_MS ? HOUR_MS : DAY_MS;
    const edgeMs = Math.floor(startMs / grainMs) * grainMs;
    const share = (edgeMs + grainMs - startMs) / grainMs;
    let edgeTotal = 0;
    let edgeErrors = 0;
    for (const [m, c] of minutes) {
      if (m > nowMs) continue;
      const p = Math.floor(m / grainMs) * grainMs;
      if (p === edgeMs) ((edgeTotal += c.total), (edgeErrors += c.errors));
      else if (p > edgeMs) ((total += c.total), (errors += c.errors));
    }
    total += Math.round(edgeTotal * share);
    errors += Math.round(edgeErrors * share);
  }
  return { total, good: total - errors };
}

/**
 * Request counts against real Postgres: what the evaluator keeps up to date
 * incrementally, what GET /slos reads afresh and the rule in the README must
 * agree, at every step of a clock that moves on while counts arrive.
 */
describe('request counts of SLO windows (e2e, Postgres)', () => {
  let db: TestDatabase;
  let sql: SqlPool;
  let pool: pg.Pool;
  const transaction = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => sql.transaction((client) => fn(client as unknown as Queryable));

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new SqlPool({ DATABASE_URL: db.url } as NinefoldConfig);
    pool = sql.pool;
  });
  afterAll(async () => {
    await sql?.pool.end();
    await db?.drop();
  });

  /**
   * Latency buckets (not cumulative, by upper bound in ms) of `total`
   * requests, all measured: a third within 50 ms, a quarter more within 100,
   * a fifth more within 300, the rest slower.
   */
  const bucketsOf = (total: number) => ({ '50': Math.floor(total / 3), '100': Math.floor(total / 4), '300': Math.floor(total / 5) });
  /** Requests known within a threshold. */
  const within = (buckets: Record<string, number>, thresholdMs: number) => Object.entries(buckets).reduce((n, [le, c]) => (Number(le) <= thresholdMs ? n + c : n), 0);

  /** Adds counts (and their latency buckets) to a service's minute, hour and day, as the ingest drain does. */
  async function add(serviceId: string, minuteMs: number, total: number, errors: number): Promise<void> {
    const latency = JSON.stringify(bucketsOf(total));
    await pool.query(
      `INSERT INTO request_rollups AS r (minute, instance_id, service_id, heartbeats, total, errors, latency_total, latency) VALUES ($1, $2, $3, 1, $4, $5, $4, $6)
       ON CONFLICT (minute, instance_id) DO UPDATE SET total = r.total + excluded.total, errors = r.errors + excluded.errors,
         latency_total = r.latency_total + excluded.latency_total, latency = ninefold_latency_add(r.latency, excluded.latency)`,
      [new Date(minuteMs), serviceId, serviceId, total, errors, latency],
    );
    await pool.query(
      `INSERT INTO request_hours AS h (hour, service_id, total, errors, latency_total, latency) VALUES ($1, $2, $3, $4, $3, $5)
       ON CONFLICT (service_id, hour) DO UPDATE SET total = h.total + excluded.total, errors = h.errors + excluded.errors,
         latency_total = h.latency_total + excluded.latency_total, latency = ninefold_latency_add(h.latency, excluded.latency)`,
      [new Date(Math.floor(minuteMs / HOUR_MS) * HOUR_MS), serviceId, total, errors, latency],
    );
    await pool.query(
      `INSERT INTO request_days AS d (day, service_id, total, errors, latency_total, latency) VALUES ($1::date, $2, $3, $4, $3, $5)
       ON CONFLICT (service_id, day) DO UPDATE SET total = d.total + excluded.total, errors = d.errors + excluded.errors,
         latency_total = d.latency_total + excluded.latency_total, latency = ninefold_latency_add(d.latency, excluded.latency)`,
      [new Date(minuteMs).toISOString().slice(0, 10), serviceId, total, errors, latency],
    );
  }

  /** Every measure an SLO may count: requests, and latency at a threshold on a bucket bound and one between bounds. */
  const MEASURES: Measure[] = [REQUESTS, { kind: 'latency', thresholdMs: 100 }, { kind: 'latency', thresholdMs: 250 }];
  const groupsOf = (services: string[]): SeriesGroup[] => MEASURES.map((measure) => ({ measure, serviceIds: services }));
  /** A minute's counts as a measure sees them: latency SLIs count the requests not known within the threshold as bad. */
  const asMeasured = (minutes: Minutes, measure: Measure): Minutes =>
    measure.kind === 'requests' ? minutes : new Map([...minutes].map(([m, c]) => [m, { total: c.total, errors: c.total - within(c.buckets ?? {}, measure.thresholdMs) }]));

  const startsAt = (nowMs: number) => [
    ...Object.values(BURN_WINDOWS).map((s) => nowMs - s * 1000),
    windowOf('rolling', 30, nowMs).startMs,
    windowOf('rolling', 7, nowMs).startMs,
    windowOf('calendar_month', 30, nowMs).startMs,
  ];

  it('incremental, fresh and the documented rule agree while time passes and counts arrive', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 119 * MINUTE_MS }),
        // Counts already stored: minute offsets back from the start (up to 9 days), total and errors.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 * 1440 }), fc.nat(500), fc.nat(100)), { maxLength: 80 }),
        // Steps of the clock: how far it moves (10 s to 25 min) and the counts that arrive meanwhile (minutes back from the new now, within the step).
        fc.array(fc.tuple(fc.integer({ min: 10_000, max: 25 * MINUTE_MS }), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(300), fc.nat(50)), { maxLength: 6 })), { minLength: 1, maxLength: 8 }),
        async (offsetMs, stored, steps) => {
          const services = [randomUUID(), randomUUID()];
          const minutes = new Map<string, Minutes>(services.map((s) => [s, new Map()]));
          const put = async (s: string, m: number, total: number, errors: number) => {
            const e = Math.min(errors, total);
            await add(s, m, total, e);
            const c = minutes.get(s)!.get(m) ?? { total: 0, errors: 0, buckets: {} };
            const buckets = { ...c.buckets };
            for (const [le, n] of Object.entries(bucketsOf(total))) buckets[le] = (buckets[le] ?? 0) + n;
            minutes.get(s)!.set(m, { total: c.total + total, errors: c.errors + e, buckets });
          };
          // Late on the 9th: the calendar month (8 days so far) and 7-day windows are counted by the day, the 3-day one by the hour.
          let nowMs = Date.UTC(2026, 10, 9, 22) + offsetMs;
          for (const [i, [back, total, errors]] of stored.entries()) await put(services[i % 2], Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - back * MINUTE_MS, total, errors);
          const incremental = new IncrementalRequestCounts(transaction);
          for (const [advanceMs, arrivals] of [[0, []] as (typeof steps)[number], ...steps]) {
            const before = nowMs;
            nowMs += advanceMs;
            for (const [i, [at, total, errors]] of arrivals.entries()) {
              await put(services[i % 2], Math.floor((before + at * (nowMs - before)) / MINUTE_MS) * MINUTE_MS, total, errors);
            }
            const starts = startsAt(nowMs);
            const kept = await incremental.refresh(groupsOf(services), starts, nowMs);
            const fresh = await queryRequestCounts(transaction, groupsOf(services), starts, nowMs);
            for (const s of services) {
              for (const measure of MEASURES) {
                const series = seriesOf(s, measure);
                for (const start of starts) {
                  const want = expected(asMeasured(minutes.get(s)!, measure), start, nowMs);
                  expect({ measure, start, now: nowMs, counts: fresh.of(series, start) }).toEqual({ measure, start, now: nowMs, counts: want });
                  expect({ measure, start, now: nowMs, counts: kept.of(series, start) }).toEqual({ measure, start, now: nowMs, counts: want });
                }
              }
            }
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('counts that reach Postgres late are picked up by the next full re-read', async () => {
    const s = randomUUID();
    const nowMs = Date.UTC(2026, 10, 4, 12, 30);
    const incremental = new IncrementalRequestCounts(transaction);
    const day = nowMs - DAY_MS;
    await add(s, nowMs - 20 * MINUTE_MS, 100, 10);
    expect((await incremental.refresh(groupsOf([s]).slice(0, 1), [day], nowMs)).of(s, day)).toEqual({ total: 100, good: 90 });
    // The full read fills the minute rings once its figures are out.
    await incremental.settled();
    // A drain that was behind stores counts of a minute long past: the next refresh reads only recent minutes…
    await add(s, nowMs - 19 * MINUTE_MS, 50, 50);
    expect((await incremental.refresh(groupsOf([s]).slice(0, 1), [day], nowMs + 30_000)).of(s, day)).toEqual({ total: 100, good: 90 });
    expect(incremental.lastRefreshWasFull).toBe(false);
    // …and the one ten minutes after the last full read re-reads everything.
    const later = nowMs + 10 * MINUTE_MS;
    expect((await incremental.refresh(groupsOf([s]).slice(0, 1), [later - DAY_MS], later)).of(s, later - DAY_MS)).toEqual({ total: 150, good: 90 });
    expect(incremental.lastRefreshWasFull).toBe(true);
  });
});
