#!/usr/bin/env node
// npm start: installs what is missing, builds, brings up PostgreSQL and Redis
// under .ninefold/ unless DATABASE_URL / REDIS_URL are given, then runs the
// api (which applies pending migrations and serves the dashboard) and the
// worker. Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkNode, ensureBuilt, ensureInstalled, root } from './lib/setup.mjs';

const log = (msg) => process.stderr.write(`ninefold: ${msg}\n`);
checkNode();
ensureInstalled(log);
ensureBuilt(log);

const { startPostgres } = await import('./lib/postgres.mjs');
const { startRedis } = await import('./lib/redis.mjs');
const { portOr } = await import('./lib/ports.mjs');
const { pipePretty } = await import('./lib/pretty-log.mjs');
const { claim, reapIfOrphaned } = await import('./lib/owner.mjs');
const pretty = process.env.NINEFOLD_LOG_FORMAT !== 'json';

const home = path.join(root, '.ninefold');
fs.mkdirSync(path.join(home, 'logs'), { recursive: true });

// One Ninefold per directory. A run that was SIGKILLed left its servers
// behind: stop them, or the new Postgres would find its data directory locked.
const previous = await reapIfOrphaned(home);
if (previous.state === 'alive') {
  log(`Ninefold is already running from this directory (pid ${previous.pid}); stop it first (Ctrl-C in its terminal, or kill ${previous.pid}).`);
  process.exit(1);
}
if (previous.state === 'orphaned') log(`stopped what an earlier run (pid ${previous.pid}) left running`);
const owner = claim(home);
const stops = [];
const children = new Set();
let stopping = false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', resolve);
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 20_000).unref();
        }),
    ),
  );
  for (const stop of stops.reverse()) await stop().catch((err) => log(`while stopping: ${err.message}`));
  owner.release();
  log('stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGHUP', () => void shutdown(0));
process.on('uncaughtException', (err) => {
  log(`unexpected error: ${err.stack ?? err}`);
  void shutdown(1);
});

try {
  const env = { ...process.env };
  if (!env.DATABASE_URL) {
    const port = Number(env.NINEFOLD_PG_PORT) || (await portOr(55432));
    const pg = await startPostgres({
      dataDir: path.join(home, 'postgres'),
      port,
      database: 'ninefold',
      logFile: path.join(home, 'logs', 'postgres.log'),
      log,
      onSpawn: (pid) => owner.add(pid, path.join(home, 'postgres'), 'SIGINT'),
    });
    stops.push(pg.stop);
    env.DATABASE_URL = pg.url;
    log(`PostgreSQL on 127.0.0.1:${port} (data in .ninefold/postgres, log in .ninefold/logs/postgres.log)`);
  }
  if (!env.REDIS_URL) {
    const port = Number(env.NINEFOLD_REDIS_PORT) || (await portOr(56379));
    const redis = await startRedis({
      dataDir: path.join(home, 'redis'),
      port,
      logFile: path.join(home, 'logs', 'redis.log'),
      log,
      onSpawn: (pid) => owner.add(pid, 'redis-server', 'SIGTERM'),
    });
    stops.push(redis.stop);
    env.REDIS_URL = redis.url;
    log(`Redis on 127.0.0.1:${port} (data in .ninefold/redis)`);
  }
  env.PORT ||= '3000';

  for (const app of ['api', 'worker']) {
    const child = spawn(process.execPath, ['--enable-source-maps', path.join(root, 'dist', 'apps', app, 'main.js')], {
      cwd: root,
      env,
      stdio: pretty ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    if (pretty) {
      pipePretty(child.stdout, process.stdout);
      pipePretty(child.stderr, process.stderr);
    }
    children.add(child);
    owner.add(child.pid, path.join('dist', 'apps', app, 'main.js'), 'SIGTERM');
    child.on('exit', (code, signal) => {
      if (stopping) return;
      log(`the ${app} exited (${code ?? signal}); stopping everything`);
      void shutdown(code || 1);
    });
  }

  const url = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + 120_000;
  while (!stopping) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the api did not become ready on ${url} within 120 s`);
    await new Promise((r) => setTimeout(r, 300));
  }
  if (!stopping) {
    log(`Ninefold is up: ${url}  (dashboard ${url}/ · status page ${url}/status · API docs ${url}/api/docs · metrics ${url}/metrics). Ctrl-C stops it.`);
  }
} catch (err) {
  log(`could not start: ${err.message}`);
  await shutdown(1);
}
