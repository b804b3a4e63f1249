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
import { claim, reapIfOrphaned, signal } from './owner.mjs';

const PREFIX = 'ninefold-';
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

/**
 * @param {{ redis?: boolean, log?: (msg: string) => void }} [opts]
 * @returns {Promise<{ dir: string, pgAdminUrl: string, databaseUrl: string, redisUrl?: string, stop: () => Promise<void> }>}
 */
export async function startEphemeralServices({ redis = true, log = () => {} } = {}) {
  await reapOrphans(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  /** Servers started so far: their graceful stop and their pid for the last-resort kill. */
  const servers = [];
  const owner = claim(dir);

  let stopped = false;
  const killNow = () => {
    if (stopped) return;
    stopped = true;
    for (const s of servers) signal(s.pid, s.hardSignal);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig) => {
    void stop().finally(() => process.exit(128 + SIGNALS[sig]));
  };
  const stop = async () => {
    if (stopped) return;
    for (const s of [...servers].reverse()) {
      if (s.stop) await s.stop().catch(() => {});
      else signal(s.pid, s.hardSignal); // still starting
    }
    stopped = true;
    fs.rmSync(dir, { recursive: true, force: true });
    process.off('exit', killNow);
    for (const sig of Object.keys(SIGNALS)) process.off(sig, onSignal);
  };
  process.on('exit', killNow);
  for (const sig of Object.keys(SIGNALS)) process.on(sig, onSignal);

  /** Records a server the moment it is spawned, so that even one still starting is stopped. */
  const tracker = (match, hardSignal) => {
    const entry = { pid: 0, hardSignal, stop: null };
    return {
      onSpawn: (pid) => {
        entry.pid = pid;
        servers.push(entry);
        owner.add(pid, match, hardSignal);
      },
      started: (server) => {
        entry.stop = server.stop;
        return server;
      },
    };
  };
  try {
    // SIGQUIT is Postgres's immediate shutdown: it takes its backends with it.
    const pgTracker = tracker(path.join(dir, 'postgres'), 'SIGQUIT');
    const pg = pgTracker.started(await startPostgres({
      dataDir: path.join(dir, 'postgres'),
      port: await freePort(),
      database: 'ninefold',
      logFile: path.join(dir, 'postgres.log'),
      ephemeral: true,
      log,
      onSpawn: pgTracker.onSpawn,
    }));
    let redisUrl;
    if (redis) {
      const redisTracker = tracker('redis-server', 'SIGKILL');
      const r = redisTracker.started(
        await startRedis({ dataDir: path.join(dir, 'redis'), port: await freePort(), logFile: path.join(dir, 'redis.log'), ephemeral: true, log, onSpawn: redisTracker.onSpawn }),
      );
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
 * longer runs (it was SIGKILLed, or the OOM killer took it), and deletes the
 * directories. Directories of live owners are left alone, so parallel runs do
 * not disturb each other.
 */
export async function reapOrphans(log = () => {}) {
  let entries = [];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = path.join(os.tmpdir(), name);
    const { state } = await reapIfOrphaned(dir, { timeoutMs: 5_000 });
    if (state !== 'orphaned') continue;
    fs.rmSync(dir, { recursive: true, force: true });
    log(`removed the leftovers of an earlier run that did not stop cleanly (${dir})`);
  }
}
