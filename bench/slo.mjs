#!/usr/bin/env node
// npm run bench:slo: how long the leader takes to evaluate every SLO.
//
// A throwaway PostgreSQL and Redis and one worker (built dist/). Before the
// worker starts, the database is filled as 30 days of a busy installation
// leave it: 10,000 services with one instance each, every one with a request
// SLO (99.9 %, rolling 30 days); 30 days of request counts (about 10 requests
// a second per service), stored as Ninefold stores them: per-day rollups for
// the whole window, per-hour rollups for the last 8 days (their default
// retention) and per-minute rollups for the last two to three hours (older
// minutes are only read through their hours and days, so leaving them out
// changes no figure; their storage is extrapolated below); state history with
// an outage for one service in ten; 100 services burning their budget fast in
// the last two hours, so pages fire.
//
// The worker then evaluates every SLO each BENCH_SLO_INTERVAL_S seconds (its
// debug log gives each run's time) while this process plays the ingest drain:
// every two seconds it adds the current minute's requests of every service to
// the minute, hour and day rollups. Measured:
//   - the first run: a full read of every window (cold: no counts kept yet);
//   - the runs after it: incremental (counts kept; re-reads minutes since the
//     previous run and the current hour);
//   - baseline, in the same run: the bare reads any evaluation that reads every
//     window afresh must do at least (the 30-day window's days and the 3-day
//     window's hours, summed per service), timed three times.
// Storage: the size of each table with its indexes. Results go to
// docs/benchmarks.md between the bench:slo markers.
//
// Knobs (environment): BENCH_SLO_SERVICES (10000), BENCH_SLO_DAYS (30),
// BENCH_SLO_RUNS (10 incremental runs), BENCH_SLO_INTERVAL_S (3), BENCH_WRITE_DOC (1; 0 = print only),
// BENCH_SLO_PROFILE_DIR (unset; a directory for a CPU profile of the worker), BENCH_SLO_HOLD (1: fill, print the
// database's URL and keep it up until stopped, to study the queries; nothing is measured).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { machineInfo, writeDocSection } from './lib/machine.mjs';
import { cleanup, spawnNode, startServices, waitForLine } from './lib/stack.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`bench:slo: ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const num = (name, def) => (process.env[name] ? Number(process.env[name]) : def);
const SERVICES = num('BENCH_SLO_SERVICES', 10_000);
const DAYS = num('BENCH_SLO_DAYS', 30);
const RUNS = num('BENCH_SLO_RUNS', 10);
const INTERVAL_S = num('BENCH_SLO_INTERVAL_S', 3);
const WRITE_DOC = process.env.BENCH_WRITE_DOC !== '0';
const BURNING = Math.max(1, Math.round(SERVICES / 100));

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mib = (bytes) => `${(bytes / 2 ** 20).toLocaleString('en-US', { maximumFractionDigits: 0 })} MiB`;
const gib = (bytes) => `${(bytes / 2 ** 30).toLocaleString('en-US', { maximumFractionDigits: 1 })} GiB`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
};

function ensureBuilt() {
  if (fs.existsSync(path.join(root, 'dist', 'apps', 'worker', 'main.js'))) return;
  log('building (npm run build)…');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
}

/** Fills the database: services, instances, SLOs, 30 days of hours, the last hours' minutes, state history. */
async function fill(db) {
  const t0 = performance.now();
  await db.query(
    `INSERT INTO services (id, name, state, state_since, updated_at, created_at)
     SELECT gen_random_uuid(), 'svc-' || lpad(i::text, 5, '0'), 'UP', now() - make_interval(days => $2 + 1), now(), now() - make_interval(days => $2 + 1)
       FROM generate_series(1, $1) i`,
    [SERVICES, DAYS],
  );
  await db.query(`INSERT INTO instances (id, service_id, name, state, state_since, updated_at) SELECT gen_random_uuid(), id, 'i-1', 'UP', now(), now() FROM services`);
  for (const [name, type] of [
    ['requests', 'requests'],
    ['availability', 'availability'],
  ]) {
    await db.query(
      `INSERT INTO slos (id, service_id, name, objective, sli_type, "window", window_days, updated_at)
       SELECT gen_random_uuid(), id, $1, 0.999, $2::"SliType", 'rolling', $3, now() FROM services`,
      [name, type, DAYS],
    );
  }
  // The minutes of the current hour and the two before it, ~600 requests each; the hours before that, ~36,000 each.
  await db.query(
    `INSERT INTO request_rollups (minute, instance_id, service_id, heartbeats, total, errors)
     SELECT m, i.id, i.service_id, 6, 600, (random() < 0.05)::int
       FROM instances i, generate_series(date_trunc('hour', now()) - interval '2 hours', date_trunc('minute', now()) - interval '1 minute', interval '1 minute') m`,
  );
  // The burning 1 %: a fifth of their requests fail over the last two hours (a burn rate of 200).
  await db.query(
    `UPDATE request_rollups r SET errors = 120 FROM (SELECT id FROM services ORDER BY name LIMIT $1) s
      WHERE r.service_id = s.id AND r.minute >= now() - interval '2 hours'`,
    [BURNING],
  );
  log(`minute rollups stored (${Math.round(performance.now() - t0)} ms)`);
  // Hours for the default 8 days of hour retention; days for the whole window.
  await db.query(
    `INSERT INTO request_hours (hour, service_id, total, errors)
     SELECT h, s.id, 36000, floor(random() * 30)::int
       FROM services s, generate_series(date_trunc('hour', now()) - interval '8 days', date_trunc('hour', now()) - interval '3 hours', interval '1 hour') h`,
  );
  await db.query(
    `INSERT INTO request_hours (hour, service_id, total, errors)
     SELECT date_trunc('hour', minute), service_id, sum(total), sum(errors) FROM request_rollups GROUP BY 1, 2`,
  );
  await db.query(
    `INSERT INTO request_days (day, service_id, total, errors)
     SELECT d::date, s.id, 864000, floor(random() * 720)::int
       FROM services s, generate_series(date_trunc('day', now()) - make_interval(days => $1), date_trunc('day', now()) - interval '9 days', interval '1 day') d`,
    [DAYS],
  );
  await db.query(
    `INSERT INTO request_days (day, service_id, total, errors)
     SELECT hour::date, service_id, sum(total), sum(errors) FROM request_hours GROUP BY 1, 2`,
  );
  log(`hour rollups stored (${Math.round(performance.now() - t0)} ms)`);
  await db.query(
    `INSERT INTO service_transitions (service_id, "from", "to", at, reason)
     SELECT id, 'UNKNOWN', 'UP', now() - make_interval(days => $1 + 1), 'first heartbeat' FROM services`,
    [DAYS],
  );
  // One service in ten had an outage of 5 to 60 minutes somewhere in the window.
  await db.query(
    `WITH o AS (SELECT id, now() - random() * make_interval(days => $1) AS at, (5 + random() * 55) * interval '1 minute' AS len
                  FROM services WHERE random() < 0.1)
     INSERT INTO service_transitions (service_id, "from", "to", at, reason)
     SELECT id, 'UP'::"ServiceState", 'DOWN'::"ServiceState", at, 'no healthy instance' FROM o
     UNION ALL SELECT id, 'DOWN'::"ServiceState", 'UP'::"ServiceState", least(at + len, now()), 'recovered' FROM o`,
    [DAYS],
  );
  // The availability rollups as a leader that has been running keeps them (closed hours of the last 8 days, closed days, each
  // with a row only where the service changed state), so its hourly roll-up is caught up as in steady state. Their figures
  // are not read here: no service has more than 500 state changes.
  for (const [grain, table, column, from] of [
    ['hour', 'availability_hours', 'hour', `date_trunc('hour', now()) - interval '8 days'`],
    ['day', 'availability_days', 'day', `'-infinity'::timestamptz`],
  ]) {
    const period = `date_trunc('${grain}', at, 'UTC')`;
    await db.query(
      `WITH t AS (SELECT service_id, at, "to"::text AS "to", coalesce(lead(at) OVER (PARTITION BY service_id ORDER BY at, id), now()) AS next FROM service_transitions),
            p AS (SELECT DISTINCT service_id, ${period} AS p FROM service_transitions
                   WHERE at >= ${from} AND at < date_trunc('${grain}', now() - interval '2 minutes', 'UTC'))
       INSERT INTO ${table} (service_id, ${column}, known_ms, down_ms, end_state)
       SELECT p.service_id, ${grain === 'day' ? "(p.p AT TIME ZONE 'UTC')::date" : 'p.p'},
              coalesce(sum(o.ms) FILTER (WHERE t."to" <> 'UNKNOWN'), 0), coalesce(sum(o.ms) FILTER (WHERE t."to" = 'DOWN'), 0),
              (array_agg(t."to" ORDER BY t.at DESC))[1]
         FROM p JOIN t ON t.service_id = p.service_id AND t.at < p.p + interval '1 ${grain}' AND t.next > p.p
        CROSS JOIN LATERAL (SELECT round(extract(epoch FROM least(t.next, p.p + interval '1 ${grain}') - greatest(t.at, p.p)) * 1000) AS ms) o
        GROUP BY p.service_id, p.p`,
    );
  }
  await db.query(
    `INSERT INTO rollup_watermarks (name, through) VALUES ('availability_hours', date_trunc('hour', now() - interval '2 minutes')), ('availability_days', date_trunc('day', now() - interval '2 minutes', 'UTC'))`,
  );
  await db.query('VACUUM ANALYZE');
  return performance.now() - t0;
}

/** The ingest drain's part: every 2 s, the current minute's requests of every service into its minute, hour and day. */
function playDrain(db) {
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await db.query(
        `WITH m AS (SELECT date_trunc('minute', now()) AS minute, date_trunc('hour', now()) AS hour),
         r AS (INSERT INTO request_rollups AS r (minute, instance_id, service_id, heartbeats, total, errors)
               SELECT m.minute, i.id, i.service_id, 1, 20, 0 FROM instances i, m
               ON CONFLICT (minute, instance_id) DO UPDATE SET heartbeats = r.heartbeats + 1, total = r.total + excluded.total),
         h AS (INSERT INTO request_hours AS h (hour, service_id, total, errors)
               SELECT m.hour, s.id, 20, 0 FROM services s, m ORDER BY s.id
               ON CONFLICT (service_id, hour) DO UPDATE SET total = h.total + excluded.total)
         INSERT INTO request_days AS d (day, service_id, total, errors)
         SELECT m.hour::date, s.id, 20, 0 FROM services s, m ORDER BY s.id
         ON CONFLICT (service_id, day) DO UPDATE SET total = d.total + excluded.total`,
      );
      await sleep(2000);
    }
  })();
  return async () => {
    stop = true;
    await loop;
  };
}

async function main() {
  ensureBuilt();
  const pg = (await import('pg')).default;
  const { applyMigrations, defaultMigrationsDir } = await import(path.join(root, 'dist', 'libs', 'core', 'src', 'database', 'migrator.js'));
  const services = await startServices();
  await applyMigrations(services.databaseUrl, defaultMigrationsDir(), () => undefined);
  const db = new pg.Pool({ connectionString: services.databaseUrl, max: 2, options: '-c TimeZone=UTC' });
  log(`filling: ${fmt(SERVICES)} services × ${DAYS} days…`);
  const fillMs = await fill(db);
  log(`filled in ${(fillMs / 1000).toFixed(0)} s`);
  if (process.env.BENCH_SLO_HOLD === '1') {
    // For EXPLAIN and friends: the filled database stays up until this process is stopped.
    log(`holding: ${services.databaseUrl} (stop with Ctrl-C)`);
    await new Promise(() => undefined);
  }

  // Baseline: the bare reads a fresh evaluation cannot avoid: the 30-day window's days and the 3-day window's hours, summed per service.
  const scans = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await db.query(`SELECT service_id, sum(total), sum(errors) FROM request_days WHERE day >= (now() - make_interval(days => $1))::date GROUP BY service_id`, [DAYS]);
    await db.query(`SELECT service_id, sum(total), sum(errors) FROM request_hours WHERE hour >= now() - interval '3 days' GROUP BY service_id`);
    scans.push(performance.now() - t);
  }
  log(`baseline scan: ${scans.map((s) => Math.round(s)).join(', ')} ms`);

  const stopDrain = playDrain(db);
  // BENCH_SLO_PROFILE_DIR: a CPU profile of the worker (written when it stops), to see where a run's time goes.
  const profile = process.env.BENCH_SLO_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SLO_PROFILE_DIR}`] : [];
  const worker = spawnNode([...profile, path.join(root, 'dist', 'apps', 'worker', 'main.js')], {
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    NINEFOLD_ADMIN_KEY: `nf-bench-${randomBytes(16).toString('hex')}`,
    NINEFOLD_MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'debug',
    LOG_REQUESTS: 'false',
    SLO_EVALUATION_SECONDS: String(INTERVAL_S),
  });
  await waitForLine(worker, 'Ninefold worker started', 60_000, 'worker');
  const startedAt = new Date();
  const runs = () =>
    worker.lines
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return null;
        }
      })
      .filter((l) => l?.msg === 'SLOs evaluated');
  const deadline = Date.now() + (RUNS + 10) * INTERVAL_S * 1000 + 120_000;
  while (runs().length < RUNS + 1) {
    if (worker.exitCode !== null || Date.now() > deadline) throw new Error(`the worker did not evaluate ${RUNS + 1} times:\n${worker.lines.slice(-30).join('\n')}`);
    await sleep(250);
  }
  await stopDrain();
  if (process.env.BENCH_SLO_PROFILE_DIR) {
    // A graceful stop, so the profile is written.
    worker.kill('SIGTERM');
    await new Promise((resolve) => (worker.exitCode !== null ? resolve() : worker.once('exit', resolve)));
  }
  const all = runs().slice(0, RUNS + 1);
  const [first, ...rest] = all;
  if (!first.fullRefresh) throw new Error('the first run was not a full read');
  const incremental = rest.filter((r) => !r.fullRefresh);
  const detail = (r) => (r.detail ? ` [closed days/hours ${Math.round(r.detail.closedMs)}, minutes ${Math.round(r.detail.minutesMs)}; state history beside counts ${Math.round(r.detail.spansMs ?? 0)}; update ${Math.round(r.detail.writeMs)}, signals and slo.update ${Math.round(r.detail.publishMs)}]` : '');
  const steps = (r) => `${Math.round(r.totalMs)} ms (load ${Math.round(r.loadMs)}, counts ${Math.round(r.countsMs)}, evaluate ${Math.round(r.evaluateMs)}, store ${Math.round(r.storeMs)})${detail(r)}`;
  log(`first run ${steps(first)}`);
  for (const r of incremental) log(`incremental ${steps(r)}`);

  const { rows: firing } = await db.query(`SELECT count(*)::int AS n FROM slos WHERE 'page:1h' = ANY(firing)`);
  const { rows: sizes } = await db.query(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid)::bigint AS bytes, (SELECT reltuples::bigint FROM pg_class WHERE oid = c.oid) AS rows
       FROM pg_class c WHERE c.relname IN ('request_days', 'request_hours', 'request_rollups', 'slos', 'service_transitions', 'availability_hours', 'availability_days') AND c.relkind = 'r'`,
  );
  const { rows: counted } = await db.query(
    `SELECT (SELECT count(*) FROM request_days)::bigint AS days, (SELECT count(*) FROM request_hours)::bigint AS hours, (SELECT count(*) FROM request_rollups)::bigint AS minutes, (SELECT count(*) FROM service_transitions)::bigint AS transitions,
            (SELECT count(*) FROM availability_hours)::bigint AS ahours, (SELECT count(*) FROM availability_days)::bigint AS adays`,
  );
  const size = Object.fromEntries(sizes.map((r) => [r.name, Number(r.bytes)]));
  const c = { days: Number(counted[0].days), hours: Number(counted[0].hours), minutes: Number(counted[0].minutes), transitions: Number(counted[0].transitions), ahours: Number(counted[0].ahours), adays: Number(counted[0].adays) };
  const perMinuteRow = size.request_rollups / c.minutes;
  const retained48h = perMinuteRow * SERVICES * 48 * 60;
  const minutes30d = perMinuteRow * SERVICES * DAYS * 1440;
  await db.end();

  const inc = incremental.map((r) => r.totalMs);
  const incCounts = incremental.map((r) => r.countsMs);
  const base = median(scans);
  const m = machineInfo(root);
  const slos = first.slos;
  const section = `<!-- bench:slo:start (written by npm run bench:slo; edits inside are overwritten) -->
## Evaluating every SLO

What it does: a throwaway PostgreSQL and Redis and one worker. The database is filled as ${DAYS} days of a busy
installation leave it: ${fmt(SERVICES)} services (one instance each), each with a request SLO and an availability
SLO (99.9 %, rolling ${DAYS} days): ${fmt(slos)} SLOs. Request counts of about 10 a second per service, stored as
Ninefold stores them: per-day rollups over the whole window (${fmt(c.days)} rows), per-hour rollups for the last 8 days (their
default retention; ${fmt(c.hours)} rows) and per-minute rollups for the last two to three hours (${fmt(c.minutes)} rows; older minutes
are read only through their hours and days, so leaving them out changes no figure). State history: ${fmt(c.transitions)} transitions
(an outage in one service of ten). ${fmt(BURNING)} services fail a fifth of their requests over the last two hours, so their pages fire.
The worker evaluates every SLO every ${INTERVAL_S} s (each run: read the SLOs and the counts, compute SLI, budget, six burn rates and
alert states, store what changed, raise signals, publish \`slo.update\`) while the benchmark plays the ingest drain (every 2 s, the
current minute of every service into the minute, hour and day rollups). The first run reads everything (as after a restart or a
change of leader, and every ten minutes and at each new hour): the closed days and hours summed per service, the 5 min, 30 min
and 1 h windows summed in Postgres; once its figures are stored, the minute rings the incremental runs keep are filled (a run
that starts while that is under way sums its short windows in Postgres too instead of waiting). It is also the first evaluation ever of
these SLOs, so every one of them is written and published as \`slo.update\` (a new leader after a failover finds the figures
stored and writes and publishes only what moved). The others are incremental: the minutes since the previous run, the state
history only when a state change or maintenance window was recorded. The availability rollups are stored as a leader that
has been running keeps them. The hours a full read sums depend on the UTC hour h it runs in: per service, today's closed hours
and the rest of the days the 1-day and 3-day windows start in, 48 − h rows (48 just after midnight, 25 at 23:00; this run's
first, at ${String(startedAt.getUTCHours()).padStart(2, '0')}:${String(startedAt.getUTCMinutes()).padStart(2, '0')} UTC, read ${48 - startedAt.getUTCHours()}).
Baseline in the same run: the bare reads any evaluation that reads every window afresh cannot avoid (the ${DAYS}-day window's
days and the 3-day window's hours, summed per service), median of 3. Filling took ${(fillMs / 1000).toFixed(0)} s.

Run: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} · machine: ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, Node ${m.node}, load average ${m.load} at the start · commit ${m.commit}
Command: \`npm run bench:slo\`

| ${fmt(slos)} SLOs of ${fmt(SERVICES)} services | whole run | of it: reading request counts | ratio to baseline |
| --- | --- | --- | --- |
| baseline: bare sums of the ${DAYS}-day window's days and the 3-day window's hours | – | ${fmt(base)} ms (${scans.map(fmt).join(', ')}) | 1 |
| first run: everything read afresh, every SLO stored | **${fmt(first.totalMs)} ms** | ${fmt(first.countsMs)} ms | ${(first.totalMs / base).toFixed(1)} |
| incremental runs (${incremental.length}), median | **${fmt(median(inc))} ms** (slowest ${fmt(Math.max(...inc))}) | ${fmt(median(incCounts))} ms | ${(median(inc) / base).toFixed(2)} |

Steps of the first run: ${steps(first)}; of the median incremental one: ${steps(incremental.slice().sort((a, b) => a.totalMs - b.totalMs)[Math.floor((incremental.length - 1) / 2)])}.

SLOs paging (1 h rule) after the runs: ${fmt(firing[0].n)}: the request SLOs of the ${fmt(BURNING)} services made to burn, and availability SLOs of services whose outage fell within the last hour.

| Storage (table with its indexes) | rows | size |
| --- | --- | --- |
| request_days (${DAYS} days × ${fmt(SERVICES)} services) | ${fmt(c.days)} | ${mib(size.request_days)} |
| request_hours (8 days, the default retention) | ${fmt(c.hours)} | ${mib(size.request_hours)} |
| request_rollups, as stored here (last 2–3 h) | ${fmt(c.minutes)} | ${mib(size.request_rollups)} |
| request_rollups at the default 48 h retention (extrapolated, ${Math.round(perMinuteRow)} bytes a row) | ${fmt(SERVICES * 48 * 60)} | ${gib(retained48h)} |
| for comparison: ${DAYS} days of minute rows, had SLO windows been summed from minutes (extrapolated) | ${fmt(SERVICES * DAYS * 1440)} | ${gib(minutes30d)} |
| slos | ${fmt(slos)} | ${mib(size.slos)} |
| service_transitions | ${fmt(c.transitions)} | ${mib(size.service_transitions)} |
| availability_hours (8 days; hours with a state change) | ${fmt(c.ahours)} | ${mib(size.availability_hours)} |
| availability_days (${DAYS} days; days with a state change) | ${fmt(c.adays)} | ${mib(size.availability_days)} |

| Goal | Measured | |
| --- | --- | --- |
| every SLO evaluated once in under 5 s | ${fmt(first.totalMs)} ms | ${first.totalMs < 5000 ? 'met' : '**not met**'} |
| incremental re-evaluation under 1 s | median ${fmt(median(inc))} ms, slowest ${fmt(Math.max(...inc))} ms | ${Math.max(...inc) < 1000 ? 'met' : median(inc) < 1000 ? 'met by the median, **not by the slowest**' : '**not met**'} |
<!-- bench:slo:end -->`;
  if (WRITE_DOC) {
    writeDocSection(root, 'slo', section);
    log('wrote docs/benchmarks.md');
  }
  process.stdout.write(`${section}\n`);
}

main()
  .catch((err) => {
    process.stderr.write(`bench:slo failed: ${err.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
