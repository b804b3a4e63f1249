// Throwaway Postgres + Redis in a temporary directory, for tests and tooling.
//
// They must not outlive the process that started them, whatever way it ends:
// a normal return or process.exit (stop() / the 'exit' hook), Ctrl-C or a
// SIGTERM from CI (signal handlers), an uncaught exception (the 'exit' hook).
// Only SIGKILL escapes all of these, so each run also reaps the leftovers of
// earlier runs whose owner process is gone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres } from './postgres.mjs';
import { startRedis } from './redis.mjs';
import { freePort } from './ports.mjs';

const PREFIX = 'ninefold-';
const OWNER_FILE = 'owner.json';
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

/**
 * @param {{ redis?: boolean, log?: (msg: string) => void }} [opts]
 * @returns {Promise<{ dir: string, pgAdminUrl: string, databaseUrl: string, redisUrl?: string, stop: () => Promise<void> }>}
 */
export async function startEphemeralServices({ redis = true, log = () => {} } = {}) {
  reapOrphans(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  /** Servers started so far: their graceful stop and their pid for the last-resort kill. */
  const servers = [];
  const owner = { pid: process.pid, startedAt: new Date().toISOString(), pids: [] };
  const writeOwner = () => fs.writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify(owner) + '\n');
  writeOwner();

  let stopped = false;
  const killNow = () => {
    if (stopped) return;
    stopped = true;
    for (const s of servers) killQuietly(s.pid, s.hardSignal);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    void stop().finally(() => process.exit(128 + SIGNALS[signal]));
  };
  const stop = async () => {
    if (stopped) return;
    for (const s of [...servers].reverse()) await s.stop().catch(() => {});
    stopped = true;
    fs.rmSync(dir, { recursive: true, force: true });
    process.off('exit', killNow);
    for (const sig of Object.keys(SIGNALS)) process.off(sig, onSignal);
  };
  process.on('exit', killNow);
  for (const sig of Object.keys(SIGNALS)) process.on(sig, onSignal);

  const track = (server, hardSignal) => {
    servers.push({ stop: server.stop, pid: server.pid, hardSignal });
    owner.pids.push({ pid: server.pid, hardSignal });
    writeOwner();
  };
  try {
    const pg = await startPostgres({
      dataDir: path.join(dir, 'postgres'),
      port: await freePort(),
      database: 'ninefold',
      logFile: path.join(dir, 'postgres.log'),
      ephemeral: true,
      log,
    });
    // SIGQUIT is Postgres's immediate shutdown: it takes its backends with it.
    track(pg, 'SIGQUIT');
    let redisUrl;
    if (redis) {
      const r = await startRedis({ dataDir: path.join(dir, 'redis'), port: await freePort(), logFile: path.join(dir, 'redis.log'), ephemeral: true, log });
      track(r, 'SIGKILL');
      redisUrl = r.url;
    }
    return { dir, pgAdminUrl: pg.adminUrl, databaseUrl: pg.url, redisUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Stops the servers of earlier throwaway directories whose owner process no
 * longer runs (it was SIGKILLed, or the machine's OOM killer took it), and
 * deletes the directories. Directories of live owners are left alone, so
 * parallel runs do not disturb each other.
 */
export function reapOrphans(log = () => {}) {
  let entries = [];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = path.join(os.tmpdir(), name);
    let owner;
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not ours, or still being written
    }
    if (isNodeProcess(owner.pid)) continue;
    for (const { pid, hardSignal } of owner.pids ?? []) {
      if (isServerProcess(pid)) killQuietly(pid, hardSignal);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    log(`removed the leftovers of an earlier run that did not stop cleanly (${dir})`);
  }
}

function isNodeProcess(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    try {
      process.kill(pid, 0);
      return true; // no /proc (not Linux): alive is enough
    } catch {
      return false;
    }
  }
}

/** The pid is still one of our servers (not reused by something else since). */
function isServerProcess(pid) {
  try {
    return /postgres|redis-server/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

function killQuietly(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
