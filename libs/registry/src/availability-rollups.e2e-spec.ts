import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { type NinefoldConfig, SqlPool } from '#core';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { availabilityOver, type StateSpan } from './availability.js';
import { type AvailabilityHistory, AvailabilityRollups, KeptSpans } from './availability-rollups.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The availability rollups against real Postgres: what a service's or an
 * instance's history reads (from its state changes, or from rollups when it
 * changed state too often) must match the documented rule computed from the
 * raw changes and maintenance windows, for every window the product shows.
 */
describe('availability rollups (e2e, Postgres)', () => {
  let db: TestDatabase;
  let sql: SqlPool;
  let rollups: AvailabilityRollups;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = { DATABASE_URL: db.url, ROLLUP_HOUR_RETENTION_DAYS: 8, ROLLUP_DAY_RETENTION_DAYS: 400 } as NinefoldConfig;
    sql = new SqlPool(config);
    rollups = new AvailabilityRollups(sql, config);
  });
  afterAll(async () => {
    await sql?.pool.end();
    await db?.drop();
  });

  async function reset(): Promise<void> {
    await sql.query(
      'TRUNCATE service_transitions, instance_transitions, maintenance_windows, availability_hours, availability_days, instance_availability_hours, instance_availability_days, rollup_watermarks, services CASCADE',
    );
  }

  async function addService(): Promise<string> {
    const id = randomUUID();
    await sql.query(`INSERT INTO services (id, name, updated_at) VALUES ($1, $2, now())`, [id, `svc-${id.slice(0, 8)}`]);
    return id;
  }

  /** What one kind of history is tested with: its states, a subject of it, and how a state change is written. */
  interface Kind {
    name: string;
    states: readonly string[];
    history: () => AvailabilityHistory;
    /** A new subject, and the id of the service whose maintenance windows hold for it. */
    add: () => Promise<{ id: string; serviceId: string }>;
    change: (id: string, serviceId: string, at: number, from: string, to: string) => Promise<unknown>;
  }
  const kinds: Kind[] = [
    {
      name: 'a service',
      states: ['UP', 'DEGRADED', 'DOWN', 'UNKNOWN'],
      history: () => rollups.services,
      add: async () => {
        const id = await addService();
        return { id, serviceId: id };
      },
      change: (id, _s, at, from, to) => sql.query(`INSERT INTO service_transitions (service_id, "from", "to", at) VALUES ($1, $2, $3, $4)`, [id, from, to, new Date(at)]),
    },
    {
      name: 'an instance',
      states: ['UP', 'SUSPECT', 'DOWN', 'UNKNOWN'],
      history: () => rollups.instances,
      add: async () => {
        const serviceId = await addService();
        const id = randomUUID();
        await sql.query(`INSERT INTO instances (id, service_id, name, updated_at) VALUES ($1, $2, 'i-1', now())`, [id, serviceId]);
        return { id, serviceId };
      },
      change: (id, serviceId, at, from, to) =>
        sql.query(`INSERT INTO instance_transitions (service_id, instance_id, "from", "to", at, reason) VALUES ($1, $2, $3, $4, $5, 'test')`, [serviceId, id, from, to, new Date(at)]),
    },
  ];

  /** Rolls up until caught up with `nowMs`, as the leader's minutely runs would. */
  async function catchUp(nowMs: number): Promise<void> {
    const caughtUp = async (h: AvailabilityHistory) => {
      const marks = await h.watermarks();
      return marks.hours !== null && marks.hours >= Math.floor((nowMs - 2 * MINUTE_MS) / HOUR_MS) * HOUR_MS && marks.days !== null && marks.days >= Math.floor((nowMs - 2 * MINUTE_MS) / DAY_MS) * DAY_MS;
    };
    for (let i = 0; i < 40; i++) {
      const r = await rollups.rollUp(nowMs);
      const wrote = r.services.hours + r.services.days + r.instances.hours + r.instances.days;
      if (wrote === 0 && (await caughtUp(rollups.services)) && (await caughtUp(rollups.instances))) return;
    }
    throw new Error('roll-up did not catch up');
  }

  /**
   * The documented rule, from the exact spans: further back than three days
   * (before that day's midnight) by the day, then by the hour until the hour
   * before the current one, then exact; a period with a state change in it
   * that the window starts in counts pro rata, one without is exact.
   */
  function expected(exact: StateSpan[], changesMs: number[], startMs: number, nowMs: number, busy: boolean): { known: number; down: number } {
    if (!busy) {
      const a = availabilityOver(exact, startMs, nowMs);
      return { known: a.knownSeconds, down: a.downSeconds };
    }
    const daysTo = Math.floor((nowMs - 3 * DAY_MS) / DAY_MS) * DAY_MS;
    const hoursTo = Math.floor(nowMs / HOUR_MS) * HOUR_MS - HOUR_MS;
    let known = 0;
    let down = 0;
    const periods = (from: number, to: number, grain: number) => {
      for (let p = Math.floor(from / grain) * grain; p < to; p += grain) {
        if (!changesMs.some((at) => at >= p && at < p + grain)) {
          const part = availabilityOver(exact, Math.max(p, from), Math.min(p + grain, to));
          known += part.knownSeconds;
          down += part.downSeconds;
          continue;
        }
        const whole = availabilityOver(exact, p, p + grain);
        const share = (Math.min(p + grain, to) - Math.max(p, from)) / grain;
        known += whole.knownSeconds * share;
        down += whole.downSeconds * share;
      }
    };
    if (startMs < daysTo) periods(startMs, daysTo, DAY_MS);
    periods(Math.max(startMs, daysTo), hoursTo, HOUR_MS);
    const tail = availabilityOver(exact, Math.max(startMs, hoursTo), nowMs);
    return { known: known + tail.knownSeconds, down: down + tail.downSeconds };
  }

  it.each(kinds)('reads what the rule says of $name, from changes or from rollups, with maintenance left out', async (kind) => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: DAY_MS - 1 }),
        // State changes: minutes back from now (up to 100 days), and the state.
        fc.array(fc.tuple(fc.integer({ min: 1, max: 100 * 1440 }), fc.constantFrom(...kind.states)), { maxLength: 40 }),
        // Maintenance windows: start (minutes back), length (minutes), and whether it is recorded after the roll-up.
        fc.array(fc.tuple(fc.integer({ min: 1, max: 89 * 1440 }), fc.integer({ min: 1, max: 3 * 1440 }), fc.boolean()), { maxLength: 3 }),
        fc.boolean(),
        async (offsetMs, changes, windows, busy) => {
          await reset();
          const { id, serviceId } = await kind.add();
          const history = kind.history();
          const nowMs = Date.UTC(2026, 10, 20) + offsetMs;
          const sorted = [...changes].sort((a, b) => b[0] - a[0]);
          const changesMs = sorted.map(([back]) => nowMs - back * MINUTE_MS - 7_000);
          let from = 'UNKNOWN';
          for (const [i, [, to]] of sorted.entries()) {
            await kind.change(id, serviceId, changesMs[i], from, to);
            from = to;
          }
          const later: [number, number][] = [];
          for (const [back, minutes, afterwards] of windows) {
            const w: [number, number] = [nowMs - back * MINUTE_MS, nowMs - back * MINUTE_MS + minutes * MINUTE_MS];
            if (afterwards) later.push(w);
            else await sql.query(`INSERT INTO maintenance_windows (id, service_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)`, [randomUUID(), serviceId, new Date(w[0]), new Date(w[1])]);
          }
          await catchUp(nowMs);
          // Recorded after the hours and days were rolled up: they are rolled up again.
          for (const [a, b] of later) {
            await sql.query(`INSERT INTO maintenance_windows (id, service_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)`, [randomUUID(), serviceId, new Date(a), new Date(b)]);
            await rollups.rebuild(serviceId, a, b);
          }
          const startMs = nowMs - 90 * DAY_MS;
          const exact = (await history.changeSpans([id], startMs - DAY_MS, nowMs)).spans.get(id)!;
          // `busy`: a limit of 0 changes sends the subject to its rollups whenever it changed state at all.
          const read = (await history.spans([id], startMs, nowMs, nowMs, busy ? 0 : 10_000)).get(id)!;
          const readsRollups = busy && changes.length > 0;
          for (const w of [HOUR_MS, DAY_MS, 7 * DAY_MS, 30 * DAY_MS, 90 * DAY_MS, nowMs - Math.floor(nowMs / DAY_MS) * DAY_MS]) {
            const got = availabilityOver(read, nowMs - w, nowMs);
            const want = expected(exact, changesMs, nowMs - w, nowMs, readsRollups);
            // Rollups keep whole milliseconds.
            expect({ w, known: got.knownSeconds }).toEqual({ w, known: expect.closeTo(want.known, 1) });
            expect({ w, down: got.downSeconds }).toEqual({ w, down: expect.closeTo(want.down, 1) });
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('keeps spans between runs only while nothing they depend on changed', async () => {
    await reset();
    const id = await addService();
    let nowMs = Date.UTC(2026, 10, 20, 12);
    const change = (at: number, from: string, to: string) => sql.query(`INSERT INTO service_transitions (service_id, "from", "to", at) VALUES ($1, $2, $3, $4)`, [id, from, to, new Date(at)]);
    const fresh = async () => availabilityOver((await rollups.services.changeSpans([id], nowMs - DAY_MS, nowMs)).spans.get(id)!, nowMs - DAY_MS, nowMs);
    const kept = new KeptSpans(rollups, sql);
    const read = async () => availabilityOver((await kept.spans([id], nowMs - DAY_MS, nowMs)).get(id)!, nowMs - DAY_MS, nowMs);
    await change(nowMs - 2 * HOUR_MS, 'UNKNOWN', 'UP');
    expect(await read()).toEqual(await fresh());
    // Time passes, nothing changes: the open last span reaches the new now.
    nowMs += 5 * MINUTE_MS;
    expect(await read()).toEqual(await fresh());
    // A state change, a maintenance window recorded, one planned that then starts: each is seen at once.
    await change(nowMs - MINUTE_MS, 'UP', 'DOWN');
    expect(await read()).toEqual(await fresh());
    await sql.query(`INSERT INTO maintenance_windows (id, service_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)`, [randomUUID(), id, new Date(nowMs - 30 * 1000), new Date(nowMs + 10 * 1000)]);
    expect(await read()).toEqual(await fresh());
    await sql.query(`INSERT INTO maintenance_windows (id, service_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)`, [randomUUID(), id, new Date(nowMs + 60 * 1000), new Date(nowMs + 120 * 1000)]);
    for (const step of [20, 30, 30, 30]) {
      nowMs += step * 1000;
      expect({ nowMs, a: await read() }).toEqual({ nowMs, a: await fresh() });
    }
    expect((await read()).downSeconds).toBeGreaterThan(0);
  });

  it('rolls up every closed hour and day with a state change in it, and only those', async () => {
    await reset();
    const id = await addService();
    const nowMs = Date.UTC(2026, 10, 20, 12, 30);
    // UP from 10 days ago, DOWN for 90 minutes yesterday from 10:00.
    for (const [at, f, t] of [
      [nowMs - 10 * DAY_MS, 'UNKNOWN', 'UP'],
      [Date.UTC(2026, 10, 19, 10), 'UP', 'DOWN'],
      [Date.UTC(2026, 10, 19, 11, 30), 'DOWN', 'UP'],
    ] as const) {
      await sql.query(`INSERT INTO service_transitions (service_id, "from", "to", at) VALUES ($1, $2, $3, $4)`, [id, f, t, new Date(at)]);
    }
    await catchUp(nowMs);
    // The day it started in counts only its known part; the day of the outage; no row for the days between.
    const days = await sql.query<{ day: string; known: string; down: string; end: string }>(
      `SELECT day::text AS day, known_ms AS known, down_ms AS down, end_state AS "end" FROM availability_days WHERE service_id = $1 ORDER BY day`,
      [id],
    );
    expect(days.rows).toEqual([
      { day: '2026-11-10', known: String(11.5 * HOUR_MS), down: '0', end: 'UP' },
      { day: '2026-11-19', known: String(DAY_MS), down: String(90 * MINUTE_MS), end: 'UP' },
    ]);
    // Hours are kept 8 days: only the outage's two.
    const hours = await sql.query<{ hour: Date; down: string; end: string }>(`SELECT hour, down_ms AS down, end_state AS "end" FROM availability_hours WHERE service_id = $1 ORDER BY hour`, [id]);
    expect(hours.rows.map((r) => [r.hour.toISOString(), Number(r.down), r.end])).toEqual([
      ['2026-11-19T10:00:00.000Z', HOUR_MS, 'DOWN'],
      ['2026-11-19T11:00:00.000Z', 30 * MINUTE_MS, 'UP'],
    ]);
    // The hours rolled up reach the retention of hours (8 days), the last one closed two minutes ago.
    expect(await rollups.services.watermarks()).toEqual({ hours: Date.UTC(2026, 10, 20, 12), days: Date.UTC(2026, 10, 20) });
    // Read from these rows (as a busy service would be), the 30 days know 10 days, 90 minutes of them DOWN.
    const read = (await rollups.services.spans([id], nowMs - 30 * DAY_MS, nowMs, nowMs, 0)).get(id)!;
    expect(availabilityOver(read, nowMs - 30 * DAY_MS, nowMs)).toEqual({ availability: expect.closeTo(1 - 90 / (240 * 60), 12), downSeconds: 90 * 60, knownSeconds: 240 * 3600 });
  });
});
