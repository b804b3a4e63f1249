import { randomUUID } from 'node:crypto';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { until } from '../../../test/support/until.js';

/**
 * Retention, on a real worker: raw heartbeats, per-minute, per-hour and
 * per-day rollups (requests and availability) past their retention are
 * deleted by the leader; what is younger stays.
 */
describe('data retention (e2e)', () => {
  let stack: Stack;
  const instance = randomUUID();
  const service = randomUUID();

  afterAll(async () => {
    await stack?.stop();
  });

  it('deletes heartbeats and minute, hour and day rollups past their retention, and keeps the rest', async () => {
    const ago = (interval: string) => `now() - interval '${interval}'`;
    stack = await startStack({
      env: { HEARTBEAT_RETENTION_HOURS: '24', ROLLUP_MINUTE_RETENTION_HOURS: '48', ROLLUP_HOUR_RETENTION_DAYS: '10', ROLLUP_DAY_RETENTION_DAYS: '60', DEREGISTER_AFTER_SECONDS: '2' },
      // Stored before Ninefold starts, as if it had been running for months.
      databaseUrl: async (db) => {
        for (const [at, label] of [[ago('25 hours'), 'old'], [ago('23 hours'), 'young']]) {
          await db.query(`INSERT INTO heartbeats (instance_id, received_at, status, via) VALUES ($1, ${at}, 'up', $2)`, [instance, label]);
        }
        for (const [at, total] of [[ago('49 hours'), 1], [ago('47 hours'), 2]] as const) {
          const minute = `date_trunc('minute', ${at})`;
          await db.query(`INSERT INTO request_rollups (minute, instance_id, service_id, heartbeats, total, errors) VALUES (${minute}, $1, $2, 1, $3, 0)`, [instance, service, total]);
          await db.query(`INSERT INTO dependency_rollups (minute, instance_id, service_id, dependency, calls, failures) VALUES (${minute}, $1, $2, 'db', $3, 0)`, [instance, service, total]);
          await db.query(`INSERT INTO rate_limit_rollups (minute, instance_id, service_id, policy, count) VALUES (${minute}, $1, $2, 'api', $3)`, [instance, service, total]);
        }
        for (const [at, total] of [[ago('11 days'), 1], [ago('9 days'), 2]] as const) {
          await db.query(`INSERT INTO request_hours (hour, service_id, total, errors) VALUES (date_trunc('hour', ${at}), $1, $2, 0)`, [service, total]);
          await db.query(`INSERT INTO availability_hours (hour, service_id, known_ms, down_ms, end_state) VALUES (date_trunc('hour', ${at}), $1, $2, 0, 'UP')`, [service, total]);
          await db.query(`INSERT INTO instance_availability_hours (hour, instance_id, known_ms, down_ms, end_state) VALUES (date_trunc('hour', ${at}), $1, $2, 0, 'UP')`, [instance, total]);
        }
        for (const [at, total] of [[ago('62 days'), 1], [ago('58 days'), 2]] as const) {
          await db.query(`INSERT INTO request_days (day, service_id, total, errors) VALUES ((${at})::date, $1, $2, 0)`, [service, total]);
          await db.query(`INSERT INTO availability_days (day, service_id, known_ms, down_ms, end_state) VALUES ((${at})::date, $1, $2, 0, 'UP')`, [service, total]);
          await db.query(`INSERT INTO instance_availability_days (day, instance_id, known_ms, down_ms, end_state) VALUES ((${at})::date, $1, $2, 0, 'UP')`, [instance, total]);
        }
        return db.url;
      },
    });
    const left = async () => {
      const one = async (sql: string) => (await stack.db.query<{ v: string }>(sql)).rows.map((r) => r.v).join(',');
      return {
        heartbeats: await one(`SELECT via AS v FROM heartbeats ORDER BY received_at`),
        requests: await one(`SELECT total::text AS v FROM request_rollups ORDER BY minute`),
        dependencies: await one(`SELECT calls::text AS v FROM dependency_rollups ORDER BY minute`),
        rateLimited: await one(`SELECT count::text AS v FROM rate_limit_rollups ORDER BY minute`),
        hours: await one(`SELECT total::text AS v FROM request_hours ORDER BY hour`),
        days: await one(`SELECT total::text AS v FROM request_days ORDER BY day`),
        availabilityHours: await one(`SELECT known_ms::text AS v FROM availability_hours ORDER BY hour`),
        availabilityDays: await one(`SELECT known_ms::text AS v FROM availability_days ORDER BY day`),
        instanceHours: await one(`SELECT known_ms::text AS v FROM instance_availability_hours ORDER BY hour`),
        instanceDays: await one(`SELECT known_ms::text AS v FROM instance_availability_days ORDER BY day`),
      };
    };
    const kept = { heartbeats: 'young', requests: '2', dependencies: '2', rateLimited: '2', hours: '2', days: '2', availabilityHours: '2', availabilityDays: '2', instanceHours: '2', instanceDays: '2' };
    expect(await until(left, (l) => JSON.stringify(l) === JSON.stringify(kept), 20_000)).toEqual(kept);
  });
});
