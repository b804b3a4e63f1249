#!/usr/bin/env node
// npm run bench:ingest: the heartbeat ingest benchmark.
//
// One run, on this machine, of:
//   a. single heartbeats    bare Fastify (bench/bare-fastify.mjs) vs the Ninefold api
//   b. batches of 100       the same two servers
//   c. persistence          how fast one worker drains the backlog a. and b. left into Postgres
//   d. detection latency    10,000 instances heartbeating every second, 1,000 of them
//                           silenced: time until each one's `instance.state` DOWN event
//   e. the same at scale    100,000 instances heartbeating every 10 s, 1,000 silenced
//
// It builds dist/ when it is missing or stale, starts a throwaway PostgreSQL
// and Redis (scripts/lib/ephemeral.mjs), one api, one worker and the bare
// Fastify baseline, prints a Markdown table and rewrites its section of
// docs/benchmarks.md (the text outside the section is kept). Every process it
// starts is stopped on every way out (normal end, error, Ctrl-C, SIGTERM).
//
// The load generator (autocannon, in this process) and the server under test
// share the machine's cores, so the figures are for a whole box, not for the
// server alone. The worker is started only after a. and b.: while those run,
// accepted heartbeats wait in the Redis stream (as they do when workers are
// down), so the api figures are not mixed with the drain's CPU, and c. then
// measures the drain on a known backlog.
//
// Knobs (environment): BENCH_DURATION_S (10), BENCH_WARMUP_S (5), BENCH_RATIO_ROUNDS (5), BENCH_RATIO_RUN_S (3),
// BENCH_CONNECTIONS (50), BENCH_DRAIN_TIMEOUT_S (60), BENCH_WRITE_DOC (1; 0 = print only), BENCH_100K (1; 0 = skip e.).
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineInfo } from './lib/machine.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const envNum = (name, def) => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : def);
/**
 * BENCH_PIN (default on where `taskset` exists and there are at least 2 cores): the load generator (this process)
 * runs on core 0 and the server under test (bare Fastify, the api) on core 1, so a./b. measure the server rather
 * than the scheduler moving the two about. Redis, PostgreSQL and the worker are not pinned.
 */
const PIN = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2 && hasTaskset();
function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const CFG = {
  durationS: envNum('BENCH_DURATION_S', 10),
  warmupS: envNum('BENCH_WARMUP_S', 5),
  connections: envNum('BENCH_CONNECTIONS', 50),
  drainTimeoutS: envNum('BENCH_DRAIN_TIMEOUT_S', 60),
  // a.: interleaved short runs, bare and Ninefold in turn, for a ratio that a noisy neighbour skews less.
  ratioRounds: envNum('BENCH_RATIO_ROUNDS', 5),
  ratioRunS: envNum('BENCH_RATIO_RUN_S', 3),
  writeDoc: process.env.BENCH_WRITE_DOC !== '0',
  scale: process.env.BENCH_100K !== '0',
};
const COMMAND = 'npm run bench:ingest';
const STREAM_KEY = 'nf:hb:stream'; // NINEFOLD_REDIS_PREFIX defaults to "nf"
const LEADER_KEY = 'nf:leader:detector';
const HB_PATH = '/api/v1/heartbeats';

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();

// ---------------------------------------------------------------------------
// Child processes: every one is recorded the moment it is spawned and killed
// on any way out.

/** @type {Set<{ name: string, child: import('node:child_process').ChildProcess, lines: string[], exit: null | { code: number|null, signal: string|null }, exited: Promise<unknown> }>} */
const children = new Set();
let services = null;
let shuttingDown = false;

function killChildren(signal) {
  for (const c of children) if (!c.exit) c.child.kill(signal);
}
process.on('exit', () => killChildren('SIGKILL'));
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`${sig}: stopping everything`);
    killChildren('SIGKILL');
    // ephemeral.mjs has its own handler that stops Postgres and Redis and exits; without it, exit here.
    void Promise.resolve(services?.stop()).finally(() => process.exit(128 + n));
  });
}

const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-bench-logs-'));

function spawnNode(name, script, env, { pinned = false } = {}) {
  // taskset sets the affinity and executes node in its place: the child's pid is node's.
  const child = pinned && PIN
    ? spawn('taskset', ['-c', '1', process.execPath, script], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [script], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const file = fs.createWriteStream(path.join(logDir, `${name}.log`));
  const proc = { name, child, lines: [], exit: null, exited: null };
  const collect = (chunk) => {
    file.write(chunk);
    for (const line of chunk.toString().split('\n')) if (line.trim()) proc.lines.push(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  proc.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      proc.exit = { code, signal };
      file.end();
      resolve(proc.exit);
    }),
  );
  children.add(proc);
  return proc;
}

async function stopChild(proc, graceMs = 15_000) {
  if (!proc || proc.exit) return proc?.exit;
  proc.child.kill('SIGTERM');
  const t = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(t);
  return proc.exit;
}

async function waitHttpReady(proc, url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit) throw new Error(`${proc.name} exited (${JSON.stringify(proc.exit)}) while starting:\n${proc.lines.slice(-30).join('\n')}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready at ${url} within ${timeoutMs / 1000} s:\n${proc.lines.slice(-30).join('\n')}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------
// CPU time per process (from /proc), to show who used the two cores.

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function statOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), self: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/** CPU seconds of a process, with its (live and reaped) children when `tree`. */
function cpuSeconds(pid, tree = false) {
  if (!pid) return 0;
  const own = statOf(pid);
  if (!own) return 0;
  let ticks = own.self;
  if (tree) {
    ticks += own.reaped;
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const st = statOf(name);
      if (st && st.ppid === pid) ticks += st.self;
    }
  }
  return ticks / CLK_TCK;
}

function findPid(match) {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (match(fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' '))) return Number(name);
    } catch {
      // gone
    }
  }
  return 0;
}

const pids = { api: 0, worker: 0, bare: 0, redis: 0, postgres: 0 };
/** Machine-wide CPU seconds: busy (everything but idle and iowait) and stolen by the hypervisor. */
function machineCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  return { busy: (user + nice + system + irq + softirq) / CLK_TCK, steal: (steal ?? 0) / CLK_TCK };
}
function cpuSnapshot() {
  const self = process.cpuUsage();
  const m = machineCpu();
  return {
    t: performance.now(),
    'whole machine': m.busy,
    steal: m.steal,
    'load generator': (self.user + self.system) / 1e6,
    'bare fastify': cpuSeconds(pids.bare),
    'ninefold api': cpuSeconds(pids.api),
    worker: cpuSeconds(pids.worker),
    redis: cpuSeconds(pids.redis),
    postgres: cpuSeconds(pids.postgres, true),
  };
}
/** Percent of one core each process used between two snapshots. */
function cpuShare(a, b) {
  const wall = (b.t - a.t) / 1000;
  const out = {};
  for (const k of Object.keys(a)) if (k !== 't') out[k] = Math.round(((b[k] - a[k]) / wall) * 100);
  return out;
}

// ---------------------------------------------------------------------------
// Workload

const SERVICES = 10;
const LOAD_INSTANCES = 1000; // 10 services × 100 instances
const METRICS = { requests: { total: 120, errors: 1 }, dependencies: { postgres: { calls: 40, failures: 0, slowCalls: 1, latencyMsP99: 12 } } };

/**
 * Heartbeat number i of the a./b. load: 1,000 distinct instances over 10
 * services, every 4th with request and dependency counts. intervalSeconds 300
 * keeps these instances from going silent during the rest of the run: 1,000
 * instances stopping together when the load ends would (rightly) trip the
 * mass-silence guard, whose hold would then keep scenario d. at SUSPECT.
 */
function loadHeartbeat(i) {
  const hb = { service: `bench-${i % SERVICES}`, instance: `i-${String(Math.floor(i / SERVICES) % (LOAD_INSTANCES / SERVICES)).padStart(3, '0')}`, status: 'up', intervalSeconds: 300 };
  if (i % 4 === 0) hb.metrics = METRICS;
  return hb;
}
const singleBodies = Array.from({ length: LOAD_INSTANCES }, (_, i) => JSON.stringify(loadHeartbeat(i)));
const batchBodies = Array.from({ length: LOAD_INSTANCES / 100 }, (_, b) => JSON.stringify({ heartbeats: Array.from({ length: 100 }, (_, j) => loadHeartbeat(b * 100 + j)) }));

let autocannon;
/** One autocannon run; each connection starts at a different place in `bodies`. */
function cannon(url, headers, bodies, durationS) {
  const requests = bodies.map((body) => ({ method: 'POST', path: HB_PATH, body }));
  let client = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CFG.connections,
        pipelining: 1,
        duration: durationS,
        headers: { 'content-type': 'application/json', ...headers },
        requests,
        setupClient: (c) => {
          const k = (client++ * 7) % requests.length;
          c.setRequests([...requests.slice(k), ...requests.slice(0, k)]);
        },
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

/**
 * Warm-up, then the measured run, against one server. Returns the measured
 * figures, the CPU shares during the measured run and how many requests
 * got a 2xx over both (for the persistence accounting).
 */
async function measure(label, url, headers, bodies, perRequest) {
  log(`${label}: ${CFG.warmupS} s warm-up + ${CFG.durationS} s, ${CFG.connections} connections…`);
  const warm = CFG.warmupS > 0 ? await cannon(url, headers, bodies, CFG.warmupS) : null;
  const before = cpuSnapshot();
  const r = await cannon(url, headers, bodies, CFG.durationS);
  const cpu = cpuShare(before, cpuSnapshot());
  const other = r.non2xx + r.errors + r.timeouts + (warm ? warm.non2xx + warm.errors + warm.timeouts : 0);
  if (other > 0) log(`${label}: ${other} request(s) failed (non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}; status codes ${JSON.stringify(r.statusCodeStats)})`);
  const out = {
    label,
    reqPerS: r.requests.average,
    hbPerS: r.requests.average * perRequest,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    ok: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
    statusCodes: r.statusCodeStats,
    cpu,
    accepted2xx: r['2xx'] + (warm ? warm['2xx'] : 0),
  };
  log(`${label}: ${Math.round(out.reqPerS)} req/s, p50 ${out.p50} ms, p99 ${out.p99} ms; CPU % of a core ${JSON.stringify(cpu)}`);
  return out;
}

/**
 * The single-heartbeat ratio from interleaved short runs: in each round bare
 * Fastify and Ninefold run back to back (which goes first alternates), so a
 * burst of other work on this shared machine hits both of a pair alike. The
 * median of the per-round ratios is the figure the goal is judged by.
 */
async function interleavedRatio(bareUrl, apiUrl, headers) {
  const rounds = [];
  let accepted = 0;
  for (let i = 0; i < CFG.ratioRounds; i++) {
    const order = i % 2 === 0 ? ['bare', 'nf'] : ['nf', 'bare'];
    const got = {};
    for (const who of order) {
      const r = await cannon(who === 'bare' ? bareUrl : apiUrl, headers, singleBodies, CFG.ratioRunS);
      got[who] = r.requests.average;
      if (who === 'nf') accepted += r['2xx'];
    }
    rounds.push({ bare: got.bare, nf: got.nf, ratio: got.nf / got.bare });
    log(`a. interleaved round ${i + 1}/${CFG.ratioRounds}: bare ${Math.round(got.bare)} req/s, Ninefold ${Math.round(got.nf)} req/s, ${(100 * got.nf / got.bare).toFixed(0)} %`);
  }
  const sorted = rounds.map((r) => r.ratio).sort((a, b) => a - b);
  return { rounds, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], accepted };
}

async function post(url, headers, body) {
  const res = await fetch(url + HB_PATH, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** Both servers must answer the same thing before they are compared. */
async function sanity(name, url, headers) {
  const one = await post(url, headers, singleBodies[0]);
  const many = await post(url, headers, batchBodies[0]);
  if (one.status !== 202 || one.body?.accepted !== 1 || many.status !== 202 || many.body?.accepted !== 100) {
    throw new Error(`${name} did not answer 202 {"accepted":1} / {"accepted":100}: got ${one.status} ${JSON.stringify(one.body)} / ${many.status} ${JSON.stringify(many.body)}`);
  }
  return 101;
}

/** Whether stream id `a` comes after `b` (`<ms>-<seq>`). */
function streamIdAfter(a, b) {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am > bm || (am === bm && as > bs);
}

// ---------------------------------------------------------------------------
// Statistics and formatting

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmtMs = (n) => (Number.isFinite(n) ? (n >= 100 ? `${Math.round(n)} ms` : `${Number(n.toFixed(1))} ms`) : 'n/a');
const fmtS = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const fmtUs = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} µs` : 'n/a');
/**
 * CPU time the server used per answered request in a measured run: with the
 * load generator on the same two cores, req/s also depends on how the cores
 * were shared, while this does not.
 */
const cpuPerRequest = (run, procs) => (procs.reduce((sum, p) => sum + (run.cpu[p] ?? 0), 0) / 100 / run.reqPerS) * 1e6;
const fmtPct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)} %` : 'n/a');
const verdict = (ok) => (ok ? 'met' : '**not met**');

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

// ---------------------------------------------------------------------------

async function main() {
  const { checkNode, ensureBuilt } = await import('../scripts/lib/setup.mjs');
  checkNode();
  ensureBuilt(log); // builds when dist/ is missing or older than the sources
  for (const f of ['dist/apps/api/main.js', 'dist/apps/worker/main.js']) {
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${f} is missing after the build`);
  }

  autocannon = (await import('autocannon')).default;
  const pg = (await import('pg')).default;
  const { Redis } = await import('ioredis');
  const { io } = await import('socket.io-client');
  const { startEphemeralServices } = await import('../scripts/lib/ephemeral.mjs');
  const { freePort } = await import('../scripts/lib/ports.mjs');

  const machine = machineInfo(root);
  log(`machine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${machine.memGiB} GiB; logs in ${logDir}`);

  const t0 = Date.now();
  services = await startEphemeralServices({ redis: true, log });
  log(`throwaway PostgreSQL and Redis up in ${Date.now() - t0} ms`);
  pids.postgres = Number(fs.readFileSync(path.join(services.dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]) || 0;
  const redisPort = new URL(services.redisUrl).port;
  pids.redis = findPid((cmd) => cmd.includes('redis-server') && cmd.includes(`:${redisPort}`));

  const adminKey = `nf-bench-admin-${randomBytes(18).toString('base64url')}`;
  const baseEnv = {
    PATH: process.env.PATH ?? '',
    TZ: 'UTC',
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    NINEFOLD_ADMIN_KEY: adminKey,
    LOG_LEVEL: 'warn',
    LOG_REQUESTS: 'false',
    DNS_PORT: '0',
  };
  const apiPort = await freePort();
  const barePort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const bareUrl = `http://127.0.0.1:${barePort}`;

  if (PIN) {
    // This process (autocannon, the load generator) on core 0, every thread of it.
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    log('pinned: the load generator to core 0, bare Fastify and the api to core 1 (BENCH_PIN=0 to share both)');
  }
  const bare = spawnNode('bare-fastify', path.join(root, 'bench', 'bare-fastify.mjs'), { PATH: baseEnv.PATH, PORT: String(barePort), HOST: '127.0.0.1' }, { pinned: true });
  const api = spawnNode('api', path.join(root, 'dist', 'apps', 'api', 'main.js'), { ...baseEnv, PORT: String(apiPort), HOST: '127.0.0.1' }, { pinned: true });
  pids.bare = bare.child.pid;
  pids.api = api.child.pid;
  const tApi = Date.now();
  await waitHttpReady(api, `${apiUrl}/readyz`, 90_000);
  log(`api ready in ${Date.now() - tApi} ms (migrations included)`);
  const deadline = Date.now() + 10_000;
  while (!bare.lines.some((l) => l.startsWith('bare fastify listening'))) {
    if (bare.exit || Date.now() > deadline) throw new Error(`bare fastify did not start:\n${bare.lines.join('\n')}`);
    await sleep(50);
  }
  log(bare.lines[0]);

  const keyRes = await fetch(`${apiUrl}/api/v1/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({ name: 'bench', role: 'agent' }),
  });
  const keyBody = await keyRes.json().catch(() => ({}));
  if (!keyRes.ok || typeof keyBody.key !== 'string') throw new Error(`creating the agent key failed: ${keyRes.status} ${JSON.stringify(keyBody)}`);
  const agentAuth = { authorization: `Bearer ${keyBody.key}` };

  // a. and b.: the worker is not running yet, so accepted heartbeats wait in the stream.
  let accepted = 0; // heartbeats the api answered 202 for
  let inflightBound = 0; // requests cut off when a run ended: answered or not, maybe stored
  await sanity('bare fastify', bareUrl, agentAuth);
  accepted += await sanity('Ninefold api', apiUrl, agentAuth);

  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: 3 });
  let redisErrors = 0;
  redis.on('error', (err) => {
    if (redisErrors++ === 0) log(`Redis connection of the benchmark: ${err.message}`);
  });
  const aBare = await measure('a. single, bare fastify', bareUrl, agentAuth, singleBodies, 1);
  const aNf = await measure('a. single, Ninefold', apiUrl, agentAuth, singleBodies, 1);
  accepted += aNf.accepted2xx;
  inflightBound += 2 * CFG.connections;
  const aInterleaved = await interleavedRatio(bareUrl, apiUrl, agentAuth);
  accepted += aInterleaved.accepted;
  inflightBound += CFG.ratioRounds * CFG.connections;
  // Where the single-heartbeat entries end in the stream: c. reports their drain apart from the batches'.
  const lastSingleId = (await redis.xrevrange(STREAM_KEY, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const bBare = await measure('b. batch of 100, bare fastify', bareUrl, agentAuth, batchBodies, 100);
  const bNf = await measure('b. batch of 100, Ninefold', apiUrl, agentAuth, batchBodies, 100);
  accepted += bNf.accepted2xx * 100;
  inflightBound += 2 * CFG.connections * 100;

  // c. persistence
  const db = new pg.Client({ connectionString: services.databaseUrl });
  db.on('error', (err) => log(`PostgreSQL connection of the benchmark: ${err.message}`));
  await db.connect();
  const backlogEntries = await redis.xlen(STREAM_KEY);
  // The api's own count of heartbeats appended (exact), beside what the load generator counted as answered 202.
  const appended = await appendedByApi(apiUrl, adminKey);
  log(`c. persistence: backlog of ${fmtInt(backlogEntries)} stream entries (${fmtInt(accepted)}+ heartbeats answered 202, ${fmtInt(appended)} appended by the api's count); starting the worker…`);

  let rows = 0;
  let lastId = '0';
  const countNew = async () => {
    // One drain loop writes one transaction at a time, so ids only grow: counting past the last id seen is exact and cheap.
    const { rows: r } = await db.query('SELECT count(*)::int AS n, max(id)::text AS m FROM heartbeats WHERE id > $1', [lastId]);
    if (r[0].n > 0) {
      rows += r[0].n;
      lastId = r[0].m;
    }
    return rows;
  };
  const pendingOf = async () => Number((await redis.xpending(STREAM_KEY, 'drain').catch(() => [0]))[0] ?? 0);

  const tWorker = performance.now();
  const worker = spawnNode('worker', path.join(root, 'dist', 'apps', 'worker', 'main.js'), { ...baseEnv, DETECTOR_SWEEP_MS: '100' });
  pids.worker = worker.child.pid;
  const cpuC0 = cpuSnapshot();
  const samples = []; // { t, rows, xlen }
  let firstChange = null;
  let lastChange = null;
  let prevRows = 0;
  let drained = false;
  let workerUpMs = null;
  let singlesDone = null;
  for (;;) {
    if (worker.exit) throw new Error(`the worker exited (${JSON.stringify(worker.exit)}):\n${worker.lines.slice(-30).join('\n')}`);
    const t = performance.now();
    const [n, xlen, pending, head] = await Promise.all([countNew(), redis.xlen(STREAM_KEY), pendingOf(), redis.xrange(STREAM_KEY, '-', '+', 'COUNT', 1)]);
    if (workerUpMs === null && (await redis.exists(LEADER_KEY))) workerUpMs = t - tWorker;
    samples.push({ t: Math.round(t - tWorker), rows: n, xlen, pending });
    // Entries are deleted once acknowledged (after their rows committed): past the last single one, the singles are all stored.
    if (!singlesDone && (head.length === 0 || streamIdAfter(head[0][0], lastSingleId))) singlesDone = { t, rows: n };
    if (n !== prevRows) {
      if (firstChange === null) firstChange = { t, rows: n };
      lastChange = { t, rows: n };
      prevRows = n;
    }
    if (xlen === 0 && pending === 0 && n > 0) {
      drained = true;
      break;
    }
    if (firstChange ? t - firstChange.t > CFG.drainTimeoutS * 1000 : t - tWorker > 60_000) break;
    await sleep(200);
  }
  const cpuC = cpuShare(cpuC0, cpuSnapshot());
  // The last transaction may have committed between the last sample and XACK: one more look.
  await sleep(300);
  const finalRows = await countNew();
  if (finalRows !== prevRows) lastChange = { t: performance.now(), rows: finalRows };
  const rate = (a, b) => (a && b && b.t > a.t ? ((b.rows - a.rows) / (b.t - a.t)) * 1000 : NaN);
  const drainSeconds = firstChange && lastChange ? (lastChange.t - firstChange.t) / 1000 : NaN;
  const rowsPerS = rate(firstChange, lastChange);
  // The two parts of the backlog: 1 heartbeat per entry (a.), then 100 per entry (b.).
  const singlesRate = rate(firstChange, singlesDone);
  const batchesRate = singlesDone ? rate(singlesDone, lastChange) : NaN;
  fs.writeFileSync(path.join(logDir, 'drain-samples.json'), JSON.stringify({ lastSingleId, samples }, null, 0));
  // Best one-second window, for reference.
  let peak = 0;
  for (let i = 0, j = 0; i < samples.length; i++) {
    while (j < samples.length && samples[j].t - samples[i].t < 1000) j++;
    if (j < samples.length) peak = Math.max(peak, ((samples[j].rows - samples[i].rows) / (samples[j].t - samples[i].t)) * 1000);
  }
  const q1 = async (sql) => (await db.query(sql)).rows[0];
  const counts = await q1(`SELECT (SELECT count(*) FROM heartbeats)::bigint AS heartbeats,
      (SELECT count(*) FROM request_rollups)::bigint AS request_rollups,
      (SELECT coalesce(sum(heartbeats), 0) FROM request_rollups)::bigint AS rollup_heartbeats,
      (SELECT count(*) FROM dependency_rollups)::bigint AS dependency_rollups,
      (SELECT count(*) FROM instances)::bigint AS instances,
      (SELECT coalesce(sum(count), 0) FROM ingested_batches)::bigint AS batch_heartbeats`);
  for (const k of Object.keys(counts)) counts[k] = Number(counts[k]);
  const leftEntries = await redis.xlen(STREAM_KEY);
  const persistence = {
    backlogEntries,
    accepted,
    appended,
    inflightBound,
    rows: counts.heartbeats,
    rowsPerS,
    peak,
    drainSeconds,
    singlesRate,
    singlesRows: singlesDone ? singlesDone.rows : NaN,
    singlesSeconds: singlesDone && firstChange ? (singlesDone.t - firstChange.t) / 1000 : NaN,
    batchesRate,
    drained,
    leftEntries,
    workerUpMs,
    firstRowAfterMs: firstChange ? firstChange.t - tWorker : NaN,
    counts,
    cpu: cpuC,
  };
  log(
    `c. persistence: ${fmtInt(counts.heartbeats)} rows in ${drainSeconds.toFixed(1)} s = ${fmtInt(rowsPerS)} rows/s (best 1 s window ${fmtInt(peak)}; ` +
      `1-heartbeat entries ${fmtInt(singlesRate)} rows/s, 100-heartbeat entries ${fmtInt(batchesRate)} rows/s); ` +
      `backlog ${drained ? 'fully drained' : `NOT drained (${fmtInt(leftEntries)} entries left)`}; rollups: ${counts.request_rollups} request, ${counts.dependency_rollups} dependency`,
  );
  if (!drained) {
    // Detection only judges silence up to the oldest heartbeat not yet applied to live state: d. needs every entry
    // delivered. The undelivered ones (after the group's last-delivered id) are deleted and counted exactly; the
    // delivered ones are the worker's (applied to live state, written from memory or read again from the stream by
    // its writer) and stay. One script, so that no read delivers an entry between the look and the deletion.
    // Entries hold the heartbeats of one or more requests (the api coalesces requests that arrive together), so
    // their heartbeats are counted one by one.
    const left = await redis.eval(
      `local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
       local last = '0-0'
       for _, g in ipairs(groups) do
         local f = {}
         for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
         if f['name'] == 'drain' then last = f['last-delivered-id'] end
       end
       local left = redis.call('XRANGE', KEYS[1], '(' .. last, '+')
       for _, e in ipairs(left) do redis.call('XDEL', KEYS[1], e[1]) end
       return left`,
      1,
      STREAM_KEY,
    );
    const undelivered = left.length;
    const heartbeatsLeft = left.reduce((n, [, fields]) => n + JSON.parse(fields[fields.indexOf('b') + 1]).length, 0);
    persistence.discarded = { entries: undelivered, heartbeats: heartbeatsLeft };
    log(`c. persistence: discarded the ${fmtInt(undelivered)} undelivered entries (${fmtInt(persistence.discarded.heartbeats)} heartbeats) so that scenario d. starts on an empty stream`);
    // The pending entries (with coalesced requests, hundreds of thousands of heartbeats) are written before counting:
    // waited for as long as rows keep coming, so a slow machine does not count an unfinished drain as lost heartbeats.
    let stalledSince = Date.now();
    let lastRows = -1;
    let pendingLeft = await pendingOf();
    while (pendingLeft > 0 && Date.now() - stalledSince < 15_000) {
      await sleep(250);
      const rows = Number((await q1('SELECT count(*)::bigint AS n FROM heartbeats')).n);
      if (rows !== lastRows) stalledSince = Date.now();
      lastRows = rows;
      pendingLeft = await pendingOf();
    }
    await sleep(300);
    persistence.rows = Number((await q1('SELECT count(*)::bigint AS n FROM heartbeats')).n);
    persistence.pendingAtCount = pendingLeft;
  }

  // d. detection latency
  const detection = await detectionScenario({ apiUrl, adminKey, agentAuth, redis, io, worker });

  // e. the sweep at 100,000 instances. d.'s services are removed first: their instances falling silent together
  // would (rightly) trip the mass-silence guard and hold e.'s silenced instances at SUSPECT.
  let scale = null;
  if (CFG.scale) {
    // d.'s last heartbeats applied first: applied after the deletion, they would register its instances again.
    const applied = Date.now() + 30_000;
    while ((await ingestWatermark(redis)) !== null && Date.now() < applied) await sleep(100);
    await Promise.all(
      Array.from({ length: DET.services }, async (_, s) => {
        const res = await fetch(`${apiUrl}/api/v1/services/${DET.prefix}-${s}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminKey}` } });
        if (res.status !== 204) throw new Error(`DELETE /api/v1/services/${DET.prefix}-${s} answered ${res.status}`);
      }),
    );
    scale = await detectionScenario({ apiUrl, adminKey, agentAuth, redis, io, worker }, DET_100K);
  }

  // Shut down (normal path): api and worker gracefully, so their shutdown is checked too.
  log('stopping the api, the worker and the baseline…');
  await db.end().catch(() => {});
  redis.disconnect();
  const [apiExit, workerExit, bareExit] = await Promise.all([stopChild(api), stopChild(worker), stopChild(bare, 5000)]);
  await services.stop();
  services = null;

  const logs = summarizeLogs([api, worker, bare]);
  const results = { machine, aBare, aNf, aInterleaved, bBare, bNf, persistence, detection, scale, logs, exits: { api: apiExit, worker: workerExit, bare: bareExit } };
  const md = report(results);
  process.stdout.write(`\n${md}\n`);
  if (CFG.writeDoc) {
    writeDoc(md);
    log('wrote docs/benchmarks.md');
  }
  log(`done in ${Math.round((Date.now() - started) / 1000)} s; process logs kept in ${logDir}`);
}

// ---------------------------------------------------------------------------
// d. detection latency

/**
 * A detection scenario: `services` × `perService` instances heartbeating every
 * `intervalS` in batches of `perService`; every `silenceEvery`-th instance of
 * each service goes silent after at least `fullRounds` rounds and every
 * registration seen (within `registerMaxMs`); DOWN events are awaited for
 * `detectMaxMs`. Default timings: ttl 3 × interval, grace 1 × interval.
 */
const DET = { label: 'd', prefix: 'det', services: 10, perService: 1000, intervalS: 1, silenceEvery: 10, fullRounds: 6, registerMaxMs: 15_000, detectMaxMs: 15_000, file: 'detection.json' };
/** The sweep at scale: 100,000 instances at a 10 s interval, 1,000 of them silenced (the issue's "scales to 100,000 instances"). */
const DET_100K = { label: 'e', prefix: 'big', services: 100, perService: 1000, intervalS: 10, silenceEvery: 100, fullRounds: 3, registerMaxMs: 240_000, detectMaxMs: 90_000, file: 'detection-100k.json' };
/** ttl (3 intervals) + grace (1 interval) + 1 s. */
const boundMs = (det) => 4 * det.intervalS * 1000 + 1000;
const DET_BOUND_MS = boundMs(DET);
const TRANSITIONS_KEY = 'nf:det:transitions';

let watermarkStream;
/** The detector's ingest watermark (ms, or null when every entry is applied), read as the sweep reads it (built dist/). */
async function ingestWatermark(redis) {
  if (!watermarkStream) {
    const { HeartbeatStream } = await import(pathToFileURL(path.join(root, 'dist', 'libs', 'registry', 'src', 'heartbeat-stream.js')).href);
    watermarkStream = new HeartbeatStream({ key: (...parts) => ['nf', ...parts].join(':') }, {}, {});
  }
  return watermarkStream.watermarkMs(redis);
}

async function detectionScenario({ apiUrl, adminKey, agentAuth, redis, io, worker }, det = DET) {
  const t0 = Date.now();
  const until = Date.now() + 20_000;
  while (!(await redis.exists(LEADER_KEY))) {
    if (Date.now() > until) throw new Error('the worker did not become the detector leader within 20 s');
    await sleep(100);
  }
  const total = det.services * det.perService;
  const L = det.label;
  log(`${L}. detection: ${fmtInt(total)} instances at intervalSeconds ${det.intervalS}; ${fmtInt(total / det.silenceEvery)} of them go silent after ≥ ${det.fullRounds - 1} rounds…`);
  const name = (i) => `n-${String(i).padStart(3, '0')}`;
  const silenced = new Set();
  for (let s = 0; s < det.services; s++) for (let i = 0; i < det.perService; i += det.silenceEvery) silenced.add(`${det.prefix}-${s}/${name(i)}`);
  const bodies = (all) =>
    Array.from({ length: det.services }, (_, s) =>
      JSON.stringify({
        heartbeats: Array.from({ length: det.perService }, (_, i) => i)
          .filter((i) => all || i % det.silenceEvery !== 0)
          .map((i) => ({ service: `${det.prefix}-${s}`, instance: name(i), status: 'up', intervalSeconds: det.intervalS })),
      }),
    );
  const full = bodies(true);
  const reduced = bodies(false);

  // Live events
  const events = new Map(); // "service/id" -> [{ state, recv, at }]
  let upCount = 0;
  let lastUpRecv = 0;
  let downCount = 0;
  const socket = io(apiUrl, { path: '/ws', auth: { token: adminKey }, transports: ['websocket'], reconnection: true });
  let socketErrors = 0;
  let disconnects = 0;
  socket.on('connect_error', () => socketErrors++);
  socket.on('disconnect', () => disconnects++);
  socket.on('error', (e) => {
    socketErrors++;
    log(`${L}. socket error event: ${JSON.stringify(e)}`);
  });
  socket.on('instance.state', (p) => {
    if (!p || typeof p.service !== 'string' || !p.service.startsWith(`${det.prefix}-`)) return;
    const k = `${p.service}/${p.id}`;
    const recv = Date.now();
    let list = events.get(k);
    if (!list) events.set(k, (list = []));
    if (p.state === 'UP' && !list.some((e) => e.state === 'UP')) {
      upCount++;
      lastUpRecv = recv;
    }
    if (p.state === 'DOWN' && silenced.has(k) && !list.some((e) => e.state === 'DOWN')) downCount++;
    list.push({ state: p.state, recv, at: Date.parse(p.at) });
  });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket.io did not connect within 10 s')), 10_000);
    socket.once('connect', () => {
      clearTimeout(t);
      resolve();
    });
  });

  // Backlogs of the heartbeat stream and of the transitions outbox, every 200 ms.
  const backlog = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const t = Date.now();
      const [hb, tr, mark] = await Promise.all([redis.xlen(STREAM_KEY), redis.xlen(TRANSITIONS_KEY), ingestWatermark(redis)]).catch(() => [NaN, NaN, undefined]);
      // How far behind the wall clock the sweep may judge silence (0 when every entry is applied).
      backlog.push({ t, hb, tr, lag: mark === undefined ? NaN : mark === null ? 0 : Math.max(0, Date.now() - mark) });
      await sleep(200);
    }
  })();

  // Heartbeats, every second: full rounds until silenceNow, then without the silenced tenth.
  const lastSent = new Map(); // service -> send time of its last full round answered 202 (the silenced instances' last heartbeat)
  let requests = 0;
  let failures = 0;
  let lateRounds = 0;
  let fullRounds = 0;
  let silenceNow = false;
  let silencedAt = null;
  let stop = false;
  const tBeat = Date.now();
  const cpuD0 = cpuSnapshot();
  let cpuD1 = null;
  const beat = (async () => {
    for (let round = 0; !stop; round++) {
      const due = tBeat + round * det.intervalS * 1000;
      if (Date.now() > due + 500) lateRounds++;
      await sleep(Math.max(0, due - Date.now()));
      if (stop) break;
      const isFull = !silenceNow;
      if (isFull) fullRounds++;
      else if (silencedAt === null) {
        silencedAt = Date.now();
        cpuD1 = cpuSnapshot();
      }
      await Promise.all(
        (isFull ? full : reduced).map(async (body, s) => {
          const sentAt = Date.now();
          requests++;
          try {
            const res = await post(apiUrl, agentAuth, body);
            if (res.status !== 202) {
              failures++;
              if (failures <= 3) log(`${L}. heartbeat request answered ${res.status} ${JSON.stringify(res.body)}`);
            } else if (isFull) lastSent.set(`${det.prefix}-${s}`, sentAt);
          } catch (err) {
            failures++;
            if (failures <= 3) log(`${L}. heartbeat request failed: ${err.message}`);
          }
        }),
      );
    }
  })();

  // Registration: at least det.fullRounds rounds, and every instance announced UP (bounded).
  while (!worker.exit && Date.now() - tBeat < det.registerMaxMs && (fullRounds < det.fullRounds || upCount < total)) await sleep(50);
  // Silence from the next round on: wait for the round in flight to finish so lastSent is final.
  silenceNow = true;
  while (silencedAt === null && !worker.exit && Date.now() - tBeat < det.registerMaxMs + 3000 * det.intervalS) await sleep(20);
  const registered = { up: upCount, lastUpAfterMs: lastUpRecv ? lastUpRecv - tBeat : NaN, fullRounds };
  log(`${L}. detection: ${fmtInt(upCount)}/${fmtInt(total)} UP events, the last ${fmtS(registered.lastUpAfterMs)} after the first heartbeat; silencing after ${fullRounds} full rounds`);

  while (!worker.exit && Date.now() - (silencedAt ?? Date.now()) < det.detectMaxMs && downCount < silenced.size) await sleep(50);
  // A little longer, to see false alarms among the instances still heartbeating.
  await sleep(1000);
  const cpuD2 = cpuSnapshot();
  stop = true;
  await beat;
  sampling = false;
  await sampler;
  socket.close();

  const lat = [];
  const detectPart = [];
  const suspectLat = [];
  const deliveryLag = [];
  let missing = 0;
  for (const k of silenced) {
    const sent = lastSent.get(k.split('/')[0]);
    const down = events.get(k)?.find((e) => e.state === 'DOWN' && e.recv > sent);
    const suspect = events.get(k)?.find((e) => e.state === 'SUSPECT' && e.recv > sent);
    if (!down) {
      missing++;
      continue;
    }
    lat.push(down.recv - sent);
    if (Number.isFinite(down.at)) {
      detectPart.push(down.at - sent);
      deliveryLag.push(down.recv - down.at);
    }
    if (suspect) suspectLat.push(suspect.recv - sent);
  }
  for (const a of [lat, detectPart, suspectLat, deliveryLag]) a.sort((x, y) => x - y);
  let falseAlarms = 0;
  const falseExamples = [];
  for (const [k, list] of events) {
    if (!silenced.has(k) && list.some((e) => e.state === 'SUSPECT' || e.state === 'DOWN')) {
      falseAlarms++;
      if (falseExamples.length < 3) falseExamples.push(`${k}: ${list.map((e) => e.state).join('→')}`);
    }
  }
  const before = backlog.filter((b) => b.t < (silencedAt ?? Infinity));
  const after = backlog.filter((b) => b.t >= (silencedAt ?? Infinity));
  // When the sweep's SUSPECT/DOWN changes reached the outbox (wall clock), and how fast the outbox then delivered them.
  const lastBeat = Math.max(...lastSent.values());
  const outboxFirst = after.find((b) => b.tr > 0)?.t;
  const silencedEvents = [...silenced].flatMap((k) => (events.get(k) ?? []).filter((e) => e.recv > lastBeat && (e.state === 'SUSPECT' || e.state === 'DOWN')));
  const lastEventRecv = silencedEvents.reduce((m, e) => Math.max(m, e.recv), 0);
  const hbAfter = after.map((b) => b.hb).filter(Number.isFinite).sort((x, y) => x - y);
  const lagAll = backlog.filter((b) => b.t >= (silencedAt ?? Infinity) - 5000).map((b) => b.lag).filter(Number.isFinite).sort((x, y) => x - y);
  const maxOf = (list, f) => list.reduce((m, b) => (Number.isFinite(b[f]) ? Math.max(m, b[f]) : m), 0);
  const d = {
    instances: total,
    silenced: silenced.size,
    registered,
    received: lat.length,
    missing,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat.length ? lat[lat.length - 1] : NaN,
    detectP50: percentile(detectPart, 50),
    detectP99: percentile(detectPart, 99),
    suspectP50: percentile(suspectLat, 50),
    deliveryLagP50: percentile(deliveryLag, 50),
    deliveryLagP99: percentile(deliveryLag, 99),
    falseAlarms,
    falseExamples,
    outboxFirstAfterMs: outboxFirst ? outboxFirst - lastBeat : NaN,
    outboxEvents: silencedEvents.length,
    outboxPerS: outboxFirst && lastEventRecv > outboxFirst ? (silencedEvents.length / (lastEventRecv - outboxFirst)) * 1000 : NaN,
    hbBacklogMedian: percentile(hbAfter, 50),
    watermarkLag: { p50: percentile(lagAll, 50), p99: percentile(lagAll, 99), max: lagAll.length ? lagAll[lagAll.length - 1] : NaN },
    maxHbBacklog: { before: maxOf(before, 'hb'), after: maxOf(after, 'hb') },
    maxTrBacklog: { before: maxOf(before, 'tr'), after: maxOf(after, 'tr') },
    requests,
    failures,
    lateRounds,
    socketErrors,
    disconnects,
    seconds: (Date.now() - t0) / 1000,
    cpuRegistration: cpuD1 ? cpuShare(cpuD0, cpuD1) : {},
    cpuDetection: cpuD1 ? cpuShare(cpuD1, cpuD2) : {},
  };
  fs.writeFileSync(
    path.join(logDir, det.file),
    JSON.stringify({ tBeat, silencedAt, lastSent: Object.fromEntries(lastSent), backlog, silencedEvents: [...silenced].map((k) => [k, events.get(k) ?? []]) }),
  );
  log(
    `${L}. detection: DOWN for ${d.received}/${d.silenced} silenced instances; p50 ${fmtS(d.p50)}, p99 ${fmtS(d.p99)}, max ${fmtS(d.max)} ` +
      `(bound ${fmtS(boundMs(det))}; judged at p50 ${fmtS(d.detectP50)}, outbox first seen ${fmtS(d.outboxFirstAfterMs)}, outbox delivery ${fmtInt(d.outboxPerS)}/s); ` +
      `false alarms ${d.falseAlarms}; heartbeat requests ${d.requests} (${d.failures} failed); ` +
      `max backlog before/after the silence: heartbeat stream ${d.maxHbBacklog.before}/${d.maxHbBacklog.after} entries, transitions ${d.maxTrBacklog.before}/${d.maxTrBacklog.after}`,
  );
  return d;
}

// ---------------------------------------------------------------------------
// Logs of the api, worker and baseline: warnings and errors, grouped.

function summarizeLogs(procs) {
  const out = [];
  for (const p of procs) {
    const groups = new Map();
    for (const line of p.lines) {
      let key;
      let level;
      try {
        const j = JSON.parse(line);
        level = j.level;
        if (typeof level === 'number' && level < 40) continue;
        key = `${level >= 50 ? 'ERROR' : 'WARN'} ${j.context ? `[${j.context}] ` : ''}${j.msg ?? ''}${j.err ? ` (${typeof j.err === 'string' ? j.err : (j.err.message ?? JSON.stringify(j.err))})` : ''}`;
      } catch {
        if (p.name === 'bare-fastify' && line.startsWith('bare fastify listening')) continue;
        if (/^(applying migration |applied \d+ migration)/.test(line)) continue; // the migrator's plain progress lines
        key = `TEXT ${line}`;
      }
      key = key.length > 400 ? `${key.slice(0, 400)}…` : key;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    out.push({ name: p.name, lines: p.lines.length, groups: [...groups].map(([k, n]) => ({ line: k, count: n })) });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Report

function report(r) {
  const { machine, aBare, aNf, aInterleaved: ai, bBare, bNf, persistence: c, detection: d, scale: e } = r;
  const aRatio = ai.median;
  const bRatio = bNf.reqPerS / bBare.reqPerS;
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const lines = [];
  lines.push(`Run: ${date} · machine: ${machine.cores} cores (${machine.cpu}), ${machine.memGiB} GiB, Node ${machine.node}, load average ${machine.load} at the start · commit ${machine.commit}`);
  lines.push(`Command: \`${COMMAND}\` (${CFG.warmupS} s warm-up + ${CFG.durationS} s per load run, ${CFG.connections} connections, pipelining 1, 127.0.0.1)`);
  lines.push('');
  lines.push('#### Results');
  lines.push('');
  lines.push(
    table(
      ['Scenario', 'Bare Fastify', 'Ninefold', 'Ninefold / bare'],
      [
        ['a. single heartbeat: req/s', fmtInt(aBare.reqPerS), fmtInt(aNf.reqPerS), fmtPct(aNf.reqPerS / aBare.reqPerS)],
        [
          `a. single heartbeat, ${ai.rounds.length} interleaved rounds of ${CFG.ratioRunS} s each: req/s per round`,
          ai.rounds.map((x) => fmtInt(x.bare)).join(' · '),
          ai.rounds.map((x) => fmtInt(x.nf)).join(' · '),
          `**median ${fmtPct(ai.median)}** (${fmtPct(ai.min)}-${fmtPct(ai.max)})`,
        ],
        ['a. single heartbeat: p50 / p99 latency', `${fmtMs(aBare.p50)} / ${fmtMs(aBare.p99)}`, `${fmtMs(aNf.p50)} / ${fmtMs(aNf.p99)}`, ''],
        [
          'a. single heartbeat: server CPU per request (Ninefold: api + Redis)',
          `${fmtUs(cpuPerRequest(aBare, ['bare fastify']))}`,
          `${fmtUs(cpuPerRequest(aNf, ['ninefold api', 'redis']))}`,
          `bare / Ninefold: ${fmtPct(cpuPerRequest(aBare, ['bare fastify']) / cpuPerRequest(aNf, ['ninefold api', 'redis']))}`,
        ],
        ['b. batch of 100: req/s', fmtInt(bBare.reqPerS), fmtInt(bNf.reqPerS), fmtPct(bRatio)],
        ['b. batch of 100: heartbeats/s', fmtInt(bBare.hbPerS), fmtInt(bNf.hbPerS), fmtPct(bRatio)],
        ['b. batch of 100: p50 / p99 latency', `${fmtMs(bBare.p50)} / ${fmtMs(bBare.p99)}`, `${fmtMs(bNf.p50)} / ${fmtMs(bNf.p99)}`, ''],
        ['a./b. failed requests (non-2xx, errors, timeouts)', `${aBare.failed} / ${bBare.failed}`, `${aNf.failed} / ${bNf.failed}`, ''],
      ],
    ),
  );
  lines.push('');
  lines.push(
    table(
      ['Scenario', 'Result'],
      [
        ['c. backlog left by a./b.', `${fmtInt(c.backlogEntries)} stream entries, ${fmtInt(c.accepted)} heartbeats answered 202`],
        ['c. drain into Postgres (1 worker), sustained', `**${fmtInt(c.rowsPerS)} rows/s** over ${c.drainSeconds.toFixed(1)} s (best 1 s window ${fmtInt(c.peak)} rows/s)`],
        [
          'c. … of which 1-heartbeat entries (a.) / 100-heartbeat entries (b.)',
          `${fmtInt(c.singlesRate)} rows/s (${fmtInt(c.singlesRows)} rows in ${Number.isFinite(c.singlesSeconds) ? c.singlesSeconds.toFixed(1) : 'n/a'} s) / ${fmtInt(c.batchesRate)} rows/s`,
        ],
        ['c. backlog fully drained', c.drained ? `yes (within ${CFG.drainTimeoutS} s)` : `**no**: ${fmtInt(c.leftEntries)} entries left after ${CFG.drainTimeoutS} s (discarded before d.)`],
        ['c. worker start → first row written', fmtS(c.firstRowAfterMs)],
        ['c. rows: heartbeats / request_rollups / dependency_rollups / instances', `${fmtInt(c.counts.heartbeats)} / ${fmtInt(c.counts.request_rollups)} / ${fmtInt(c.counts.dependency_rollups)} / ${fmtInt(c.counts.instances)}`],
        ['c. heartbeats stored vs accepted', storedVsAccepted(c)],
        [
          'd. registration of 10,000 instances (UP events)',
          `${fmtInt(d.registered.up)} / ${fmtInt(d.instances)}, the last ${fmtS(d.registered.lastUpAfterMs)} after the first heartbeat; silence after ${d.registered.fullRounds} full rounds`,
        ],
        ['d. DOWN events received for the 1,000 silenced instances', `${d.received} / ${d.silenced}`],
        ['d. detection latency (DOWN event received − last heartbeat sent) p50 / p99 / max', `${fmtS(d.p50)} / **${fmtS(d.p99)}** / ${fmtS(d.max)} (bound ttl 3 s + grace 1 s + 1 s = ${fmtS(DET_BOUND_MS)})`],
        ['d. SUSPECT event received − last heartbeat sent, p50', fmtS(d.suspectP50)],
        ['d. DOWN time the sweep judged (event `at` − last heartbeat sent; judged up to the ingest watermark) p50 / p99', `${fmtS(d.detectP50)} / ${fmtS(d.detectP99)}`],
        ['d. DOWN event received − its `at`, p50 / p99', `${fmtS(d.deliveryLagP50)} / ${fmtS(d.deliveryLagP99)}`],
        [
          'd. transitions outbox: first SUSPECT/DOWN entries seen (after the last heartbeat); then delivered',
          `${fmtS(d.outboxFirstAfterMs)}; ${fmtInt(d.outboxEvents)} SUSPECT + DOWN events at ${fmtInt(d.outboxPerS)}/s`,
        ],
        [
          'd. heartbeat stream backlog after the silence (10 entries/s arrive): median; largest before / after the silence',
          `${fmtInt(d.hbBacklogMedian)} entries; ${fmtInt(d.maxHbBacklog.before)} / ${fmtInt(d.maxHbBacklog.after)} (outbox: ${fmtInt(d.maxTrBacklog.before)} / ${fmtInt(d.maxTrBacklog.after)})`,
        ],
        [
          'd. ingest watermark lag (wall clock − oldest heartbeat not yet in live state, sampled every 200 ms from 5 s before the silence) p50 / p99 / max',
          `${fmtS(d.watermarkLag.p50)} / ${fmtS(d.watermarkLag.p99)} / ${fmtS(d.watermarkLag.max)}`,
        ],
        ['d. false alarms (SUSPECT/DOWN of instances still heartbeating)', d.falseAlarms ? `**${d.falseAlarms}** (${d.falseExamples.join('; ')})` : '0'],
        ['d. heartbeat requests (1,000 heartbeats each) failed', `${d.failures} of ${d.requests}${d.lateRounds ? `; ${d.lateRounds} round(s) sent > 0.5 s late` : ''}`],
        ...(e
          ? [
              [
                'e. registration of 100,000 instances (intervalSeconds 10; UP events)',
                `${fmtInt(e.registered.up)} / ${fmtInt(e.instances)}, the last ${fmtS(e.registered.lastUpAfterMs)} after the first heartbeat; silence after ${e.registered.fullRounds} full rounds`,
              ],
              ['e. DOWN events received for the 1,000 silenced instances', `${e.received} / ${e.silenced}`],
              ['e. detection latency p50 / p99 / max', `${fmtS(e.p50)} / **${fmtS(e.p99)}** / ${fmtS(e.max)} (bound ttl 30 s + grace 10 s + 1 s = ${fmtS(boundMs(DET_100K))})`],
              ['e. DOWN time the sweep judged (event `at` − last heartbeat sent) p50 / p99; DOWN event received − its `at`, p50 / p99', `${fmtS(e.detectP50)} / ${fmtS(e.detectP99)}; ${fmtS(e.deliveryLagP50)} / ${fmtS(e.deliveryLagP99)}`],
              ['e. ingest watermark lag p50 / p99 / max (from 5 s before the silence)', `${fmtS(e.watermarkLag.p50)} / ${fmtS(e.watermarkLag.p99)} / ${fmtS(e.watermarkLag.max)}`],
              ['e. false alarms', e.falseAlarms ? `**${e.falseAlarms}** (${e.falseExamples.join('; ')})` : '0'],
              ['e. heartbeat requests (1,000 heartbeats each) failed', `${e.failures} of ${e.requests}${e.lateRounds ? `; ${e.lateRounds} round(s) sent > 0.5 s late` : ''}`],
            ]
          : [['e. 100,000 instances', 'skipped (BENCH_100K=0)']]),
      ],
    ),
  );
  lines.push('');
  lines.push('#### Goals');
  lines.push('');
  const p99Worst = Math.max(aNf.p99, bNf.p99);
  lines.push(
    table(
      ['Goal', 'Measured', ''],
      [
        ['single heartbeats ≥ 70 % of bare Fastify req/s (stretch 85 %): median of the interleaved rounds', fmtPct(aRatio), aRatio >= 0.85 ? 'met (stretch too)' : verdict(aRatio >= 0.7)],
        ['≥ 100,000 heartbeats/s with batches of 100', fmtInt(bNf.hbPerS), verdict(bNf.hbPerS >= 100_000)],
        [`p99 < 25 ms at ${CFG.connections} connections`, `single ${fmtMs(aNf.p99)}, batch ${fmtMs(bNf.p99)}`, verdict(p99Worst < 25)],
        ['persistence ≥ 40,000 rows/s sustained (whole backlog)', fmtInt(c.rowsPerS), verdict(c.rowsPerS >= 40_000)],
        ['… for 100-heartbeat entries only', fmtInt(c.batchesRate), verdict(c.batchesRate >= 40_000)],
        ['detection p99 ≤ ttl + grace + 1 s (5 s)', fmtS(d.p99), verdict(d.missing === 0 && d.p99 <= DET_BOUND_MS)],
        ...(e ? [['… at 100,000 instances (10 s interval: 41 s), no false alarm', fmtS(e.p99), verdict(e.missing === 0 && e.p99 <= boundMs(DET_100K) && e.falseAlarms === 0)]] : []),
      ],
    ),
  );
  lines.push('');
  lines.push(`#### CPU use during each run (% of one core; the machine has ${machine.cores} cores, so ${machine.cores}00 % is everything)`);
  lines.push('');
  const procs = ['load generator', 'bare fastify', 'ninefold api', 'worker', 'redis', 'postgres', 'whole machine', 'steal'];
  const cpuRow = (label, cpu) => [label, ...procs.map((p) => (cpu[p] !== undefined ? `${cpu[p]}` : ''))];
  lines.push(
    table(
      ['Run', ...procs],
      [
        cpuRow('a. single, bare fastify', aBare.cpu),
        cpuRow('a. single, Ninefold', aNf.cpu),
        cpuRow('b. batch, bare fastify', bBare.cpu),
        cpuRow('b. batch, Ninefold', bNf.cpu),
        cpuRow('c. drain (worker start → end)', c.cpu),
        cpuRow('d. registration and steady heartbeats', d.cpuRegistration),
        cpuRow('d. after the silence', d.cpuDetection),
        ...(e ? [cpuRow('e. registration and steady heartbeats', e.cpuRegistration), cpuRow('e. after the silence', e.cpuDetection)] : []),
      ],
    ),
  );
  lines.push('');
  lines.push('#### Warnings and errors in the process logs');
  lines.push('');
  const logLines = [];
  for (const l of r.logs) {
    if (l.groups.length === 0) logLines.push(`- ${l.name}: none`);
    else for (const g of l.groups) logLines.push(`- ${l.name}: ${g.count} × \`${g.line.replace(/`/g, "'")}\``);
  }
  // Nest re-raises SIGTERM after its shutdown hooks: dying of SIGTERM is a clean stop; SIGKILL means the grace time ran out.
  for (const [n, e] of Object.entries(r.exits)) if (e && !(e.code === 0 || e.signal === 'SIGTERM')) logLines.push(`- ${n} did not stop cleanly on SIGTERM: ${JSON.stringify(e)}`);
  lines.push(...logLines);
  return lines.join('\n');
}

/** ninefold_heartbeats_accepted_total of the api: heartbeats it appended to the stream (and answered 202 for). */
async function appendedByApi(apiUrl, adminKey) {
  const res = await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
  const m = /^ninefold_heartbeats_accepted_total (\S+)$/m.exec(await res.text());
  return m ? Number(m[1]) : NaN;
}

function storedVsAccepted(c) {
  const discarded = c.drained ? 0 : (c.discarded?.heartbeats ?? NaN);
  if (c.pendingAtCount > 0) return `**not counted**: ${fmtInt(c.pendingAtCount)} entries were still pending (no row written for 15 s) when ${fmtInt(c.rows)} rows were counted`;
  if (!Number.isFinite(discarded)) return `${fmtInt(c.rows)} stored of ${fmtInt(c.accepted)} accepted (not drained; the rest cannot be counted exactly)`;
  const extra = c.rows + discarded - c.accepted;
  const rollupOk = c.counts.rollup_heartbeats === c.counts.heartbeats && c.counts.batch_heartbeats === c.counts.heartbeats;
  const base = `${fmtInt(c.rows)} stored${discarded ? ` + ${fmtInt(discarded)} discarded undrained` : ''}, ${fmtInt(c.accepted)} answered 202, ${fmtInt(c.appended)} appended by the api's count`;
  const vsAppended = c.rows + discarded - c.appended;
  if (vsAppended !== 0) return `**${fmtInt(Math.abs(vsAppended))} ${vsAppended < 0 ? 'appended heartbeats missing' : 'more rows than appended'}** (${base})`;
  const consistency = rollupOk
    ? '; request_rollups and ingested_batches agree with heartbeats'
    : `; **heartbeats ${fmtInt(c.counts.heartbeats)} but request_rollups count ${fmtInt(c.counts.rollup_heartbeats)}, ingested_batches ${fmtInt(c.counts.batch_heartbeats)}**`;
  if (extra < 0) return `**${fmtInt(-extra)} accepted heartbeats missing** (${base})${consistency}`;
  if (extra > c.inflightBound) return `**${fmtInt(extra)} more rows than accepted** (${base}; at most ${fmtInt(c.inflightBound)} could come from requests cut off at the end of a run)${consistency}`;
  return `none lost (${base}; ${fmtInt(extra)} more from requests cut off when a run ended, at most ${fmtInt(c.inflightBound)} possible)${consistency}`;
}

const DOC = path.join(root, 'docs', 'benchmarks.md');
const START = '<!-- bench:ingest:start (written by npm run bench:ingest; edits inside are overwritten) -->';
const END = '<!-- bench:ingest:end -->';
const INTRO = `# Benchmarks

Each benchmark runs its baseline in the same run, on the same machine, right
before the thing it measures (bare Fastify for the api), and reports the ratio
as well as the absolute figures: the ratio is what stays comparable between
machines and runs.

The figures below come from a shared, noisy 2-core virtual machine on which
the load generator, the server under test, PostgreSQL and Redis all share the
same two cores; expect differences of 10-20 % between runs. Re-run the command
given with each result to get figures for your own hardware.
`;

const SECTION_INTRO = `## Heartbeat ingest

What it does: a throwaway PostgreSQL and Redis (PostgreSQL with \`fsync=off\`
and \`synchronous_commit=off\`, Redis without persistence, as in the tests),
one api, one worker and bench/bare-fastify.mjs, a bare Fastify server (the
project's single fastify copy) that parses the same JSON body and answers the
same \`202 {"accepted": n}\` with no auth, no validation and no Redis.

- **a./b.** autocannon in the benchmark process, ${CFG.connections} connections, pipelining 1, each run a
  ${CFG.warmupS} s warm-up then ${CFG.durationS} s measured; bare Fastify first, then Ninefold. Requests
  cycle over 1,000 instances of 10 services, every 4th heartbeat with request and dependency counts.
  ${PIN ? 'The load generator runs on core 0 and the server under test (bare Fastify, the api) on core 1 (`taskset`;\n  `BENCH_PIN=0` shares both), so the figures measure the server rather than the scheduler; Redis, PostgreSQL\n  and the worker are not pinned.' : 'The load generator and the server share the cores (see the CPU table), so the ratio is that of\n  two servers each running next to the same load generator.'}
- **a. interleaved.** This machine is shared and other work comes and goes in bursts; one 10 s run of each
  server can catch a burst on one side only (single-run ratios of 52-80 % were seen for the same code).
  So after a./b.'s single runs, ${CFG.ratioRounds} rounds of ${CFG.ratioRunS} s each run bare Fastify and Ninefold back to back
  (alternating which goes first), and the goal is judged by the median of the per-round ratios.
- **a. CPU per request.** The server's CPU time (from /proc) during a.'s measured run divided by the requests
  it answered; for Ninefold the api's plus Redis's. It does not depend on how the load generator and the server
  shared the cores, but it does on the machine: the same code measured 24 µs (bare) / 34 µs (Ninefold) on a
  day when bare Fastify did 38,000 req/s, and the kernel's share of a request grows on slower days.
- **c.** The worker is started only after a./b., so the api figures are not mixed with the drain's
  CPU; the accepted heartbeats wait in the Redis stream meanwhile (as when workers are down). Rows/s is
  the rows written between the first and the last change of \`count(heartbeats)\` divided by that time
  (sampled every 200 ms), until the stream is empty or ${CFG.drainTimeoutS} s passed.
- **d.** 10,000 instances of 10 services (batches of 1,000, \`intervalSeconds: 1\`) heartbeat every
  second for at least 5 s and until all 10,000 UP events arrived (at most 15 s); then every tenth
  instance stops while the other 9,000 go on. The worker runs with \`DETECTOR_SWEEP_MS=100\`. Latency
  is the arrival of each silenced instance's \`instance.state\` DOWN event on a socket.io client minus
  the send time of its last heartbeat request; the bound is ttl 3 s + grace 1 s + 1 s. The sweep judges
  silence only up to the oldest heartbeat not yet applied to live state (the ingest watermark); how far
  that is behind the wall clock is sampled every 200 ms from 5 s before the silence (after the
  registration, whose first reads may still hold c.'s last entries), read as the sweep reads it.
- **e.** The same at the scale the sweep is built for: d.'s services are deleted, then 100,000
  instances of 100 services heartbeat every 10 s (100 batches of 1,000 per round) for at least 3
  rounds and until all UP events arrived (at most 240 s); then one instance in a hundred stops. The
  bound is ttl 30 s + grace 10 s + 1 s. \`BENCH_100K=0\` skips it.
- The instances of a./b. report \`intervalSeconds: 300\`, so they do not all go silent together when the
  load stops: that would (rightly) trip the mass-silence guard, whose hold would stall d.
- If the backlog is not drained after c., what is left is deleted from the stream before d. (d. needs
  an empty stream: silence is judged only up to the oldest heartbeat not yet applied to live state) and counted, so
  stored + discarded can still be checked against what the api answered 202 for.
`;

function writeDoc(resultsMd) {
  const section = `${START}\n${SECTION_INTRO}\n${resultsMd}\n${END}`;
  let doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : `${INTRO}\n`;
  const a = doc.indexOf(START.slice(0, 24));
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) doc = doc.slice(0, a) + section + doc.slice(b + END.length);
  else doc = `${doc.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(DOC, doc);
}

main()
  .then(() => process.exit(0))
  .catch(async (err) => {
    if (shuttingDown) return;
    log(`failed: ${err?.stack ?? err}`);
    killChildren('SIGKILL');
    await Promise.resolve(services?.stop()).catch(() => {});
    log(`process logs kept in ${logDir}`);
    process.exit(1);
  });
