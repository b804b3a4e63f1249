#!/usr/bin/env node
// npm test: installs and builds when needed, type-checks the tests, starts a
// throwaway PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are given:
// then it uses those and starts nothing), prepares a migrated template
// database, and runs every Jest test (unit and end-to-end). Extra arguments go
// to Jest: `npm test -- --selectProjects unit`, `npm test -- keys`.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkNode, ensureBuilt, ensureInstalled, root } from './lib/setup.mjs';

const log = (msg) => process.stderr.write(`ninefold test: ${msg}\n`);
checkNode();
ensureInstalled(log);
ensureBuilt(log);

log('type-checking (tsc --noEmit)…');
const tc = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json', '--noEmit'], { cwd: root, stdio: 'inherit' });
if (tc.status !== 0) {
  log('type errors: fix them first.');
  process.exit(tc.status || 1);
}

const { startEphemeralServices } = await import('./lib/ephemeral.mjs');
const { ensureChromium, ensurePrometheus } = await import('./lib/debian.mjs');
const pg = (await import('pg')).default;
// The browser tests drive Debian's Chromium (installed here when missing).
const chromium = ensureChromium(log);
// The metrics tests run a real Prometheus server and promtool (Debian's prometheus package).
const prometheus = ensurePrometheus(log);
const { applyMigrations, defaultMigrationsDir } = await import(path.join(root, 'dist', 'libs', 'core', 'src', 'database', 'migrator.js'));

let services = null;
let adminUrl = process.env.DATABASE_URL;
let redisUrl = process.env.REDIS_URL;
if (!adminUrl || !redisUrl) {
  const t0 = Date.now();
  services = await startEphemeralServices({ redis: !redisUrl, log });
  adminUrl ??= services.pgAdminUrl;
  redisUrl ??= services.redisUrl;
  log(`throwaway PostgreSQL and Redis up in ${Date.now() - t0} ms (${services.dir})`);
}

// One migrated template; each e2e test file copies it (CREATE DATABASE … TEMPLATE).
const templateDb = `nf_template_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE "${templateDb}"`);
const templateUrl = new URL(adminUrl);
templateUrl.pathname = `/${templateDb}`;
await applyMigrations(templateUrl.toString(), defaultMigrationsDir());

let code = 1;
const resultsFile = path.join(os.tmpdir(), `ninefold-jest-${process.pid}.json`);
try {
  const jest = spawn(process.execPath, [path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--json', `--outputFile=${resultsFile}`, ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      TZ: 'UTC',
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim(),
      NINEFOLD_TEST_PG_ADMIN_URL: adminUrl,
      NINEFOLD_TEST_TEMPLATE_DB: templateDb,
      NINEFOLD_TEST_REDIS_URL: redisUrl,
      NINEFOLD_CHROMIUM: chromium,
      NINEFOLD_PROMETHEUS: prometheus.server,
      NINEFOLD_PROMTOOL: prometheus.promtool,
    },
  });
  const forward = (sig) => jest.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  // Jest writes its results file when the run is over. If it then does not exit (a test left a handle
  // open), the results are complete: say so and stop it, rather than hang CI.
  let stuck = false;
  const watchdog = setInterval(() => {
    if (!fs.existsSync(resultsFile)) return;
    clearInterval(watchdog);
    setTimeout(() => {
      if (jest.exitCode !== null || jest.signalCode !== null) return;
      stuck = true;
      log('Jest did not exit 15 s after the run ended (an open handle, see above); stopping it');
      jest.kill('SIGKILL');
    }, 15_000).unref();
  }, 1000);
  code = await new Promise((resolve) => jest.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  clearInterval(watchdog);
  // One plain closing line for CI: "N passed, N failed". An empty run fails.
  try {
    const r = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
    const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
    // A run stopped by the watchdog counts by its results; the leak is reported above.
    if (stuck) code = failed > 0 || !r.success ? 1 : 0;
    process.stdout.write(`\n${r.numPassedTests} passed, ${failed} failed\n`);
    if (r.numTotalTests === 0) {
      log('no test ran');
      code = 1;
    }
  } catch {
    // Jest wrote no results (it crashed): its exit code says so.
  } finally {
    fs.rmSync(resultsFile, { force: true });
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS "${templateDb}" WITH (FORCE)`).catch(() => {});
  // Databases the test files made and did not drop (a crashed test) go too.
  const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'nf\\_test\\_%'`).catch(() => ({ rows: [] }));
  if (services) for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`).catch(() => {});
  await admin.end();
  await services?.stop();
}
process.exit(code);
