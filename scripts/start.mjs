#!/usr/bin/env node
// npm start: installs what is missing, builds, brings up PostgreSQL and Redis
// under .ninefold/ unless DATABASE_URL / REDIS_URL are given, then runs the
// api (which applies pending migrations and serves the dashboard) and the
// worker. Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
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

// NINEFOLD_HOME: where the embedded servers keep their data and logs (default .ninefold/ in this directory).
const home = path.resolve(process.env.NINEFOLD_HOME || path.join(root, '.ninefold'));
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
// npm forwards SIGINT and SIGTERM to this process (package.json's `exec` makes it npm's own child rather than a
// shell's). A parent that went away without a signal (SIGKILL, a closed supervisor) leaves this process adopted:
// stop then too, rather than leave Ninefold running with nobody to stop it.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) {
    log(`the process that started Ninefold (pid ${parent}) went away`);
    void shutdown(0);
  }
}, 1000).unref();
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
    owner.note('postgresPort', port); // for `npm run admin-key`
    env.DATABASE_URL = pg.url;
    log(`PostgreSQL on 127.0.0.1:${port} (data in ${shown(home)}/postgres, log in ${shown(home)}/logs/postgres.log)`);
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
    log(`Redis on 127.0.0.1:${port} (data in ${shown(home)}/redis)`);
  }
  env.PORT ||= '3000';

  // The api prints the admin key it creates on the first start of an empty database: said again by the "is up" line.
  let firstKey = null;
  const watchKey = (line) => {
    const m = /^\s+(nf_[A-Za-z0-9_-]{20,})\s*$/.exec(line);
    if (m) firstKey = m[1];
  };
  for (const app of ['api', 'worker']) {
    const child = spawn(process.execPath, ['--enable-source-maps', path.join(root, 'dist', 'apps', app, 'main.js')], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', pretty ? 'pipe' : 'inherit'],
    });
    if (pretty) {
      pipePretty(child.stdout, process.stdout, app === 'api' ? watchKey : undefined);
      pipePretty(child.stderr, process.stderr);
    } else {
      child.stdout.on('data', (chunk) => process.stdout.write(chunk));
      if (app === 'api') readline.createInterface({ input: child.stdout }).on('line', watchKey);
    }
    children.add(child);
    owner.add(child.pid, path.join('dist', 'apps', app, 'main.js'), 'SIGTERM');
    child.on('exit', (code, signal) => {
      if (stopping) return;
      log(`the ${app} exited (${code ?? signal}); stopping everything`);
      void shutdown(code || 1);
    });
  }

  // Where a browser on this machine reaches it: the address it listens on, or loopback when that is every interface.
  const reachable = !env.HOST || env.HOST === '0.0.0.0' || env.HOST === '::' ? '127.0.0.1' : env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST;
  const url = `http://${reachable}:${env.PORT}`;
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
    log(`Ninefold is up: ${url}  (dashboard ${url}/ · status page ${url}/status · API docs ${url}/api/docs · metrics ${url}/metrics)`);
    if (firstKey) log(`admin API key, shown on this first start only (store it): ${firstKey}`);
    else log('sign in with the admin key printed on the first start; lost it? `npm run admin-key` makes a new one');
    for (const line of listening(env)) log(line);
    log('Ctrl-C stops it.');
  }
} catch (err) {
  log(`could not start: ${err.message}`);
  await shutdown(1);
}

/** Which interfaces the api and its DNS server listen on, and how to change that. */
function listening(env) {
  const host = env.HOST || '0.0.0.0';
  const everywhere = (h) => h === '0.0.0.0' || h === '::';
  const lines = [
    everywhere(host)
      ? `HTTP on port ${env.PORT} of every interface (HOST=${host}): other machines can reach it; HOST=127.0.0.1 npm start keeps it to this one`
      : `HTTP on ${host}:${env.PORT} only (HOST); HOST=0.0.0.0 listens on every interface`,
  ];
  const dnsPort = env.DNS_PORT ?? '8600';
  const dnsHost = env.DNS_HOST || host;
  if (dnsPort !== '0') lines.push(`DNS (UDP and TCP) on port ${dnsPort} of ${everywhere(dnsHost) ? 'every interface' : dnsHost} (DNS_HOST, DNS_PORT; DNS_PORT=0 turns it off)`);
  return lines;
}

/** A directory as a user would type it: relative to this one when inside it. */
function shown(dir) {
  const rel = path.relative(root, dir);
  return rel && !rel.startsWith('..') ? rel : dir;
}
