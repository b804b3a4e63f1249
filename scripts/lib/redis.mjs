// Starts a private Redis server for `npm start` and `npm test` when no
// REDIS_URL is given, using the machine's redis-server (installed from Debian's
// packages when it is missing and we are root).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensureDebianPackage } from './debian.mjs';
import { waitFor } from './wait.mjs';

/** Finds redis-server, installing Debian's package when missing and allowed. */
export function ensureRedisServer(log = () => {}) {
  const explicit = process.env.NINEFOLD_REDIS_SERVER;
  if (explicit) return explicit;
  const found = ensureDebianPackage('redis-server', 'redis-server', log);
  if (found) return found;
  throw new Error(
    'redis-server was not found. Install Redis 6.2 or newer (Debian/Ubuntu: `sudo apt-get install redis-server`, ' +
      'macOS: `brew install redis`), set NINEFOLD_REDIS_SERVER to its path, or set REDIS_URL to an existing server.',
  );
}

/**
 * Starts redis-server on 127.0.0.1:`port` with its files in `dataDir`.
 * `ephemeral` keeps nothing on disk (tests); otherwise an append-only file
 * (fsync every second) keeps data across restarts.
 * @param {{ dataDir: string, port: number, logFile: string, ephemeral?: boolean, log?: (msg: string) => void, onSpawn?: (pid: number) => void }} opts
 *   `onSpawn` hears the server's pid as soon as it is spawned, before it is ready.
 * @returns {Promise<{ url: string, stop: () => Promise<void>, pid: number, port: number }>}
 */
export async function startRedis({ dataDir, port, logFile, ephemeral = false, log = () => {}, onSpawn = () => {} }) {
  const bin = ensureRedisServer(log);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secretsFile = path.join(path.dirname(dataDir), 'redis.json');
  if (!fs.existsSync(secretsFile)) {
    fs.writeFileSync(secretsFile, JSON.stringify({ password: randomBytes(18).toString('base64url') }) + '\n', { mode: 0o600 });
  }
  const { password } = JSON.parse(fs.readFileSync(secretsFile, 'utf8'));
  // The password goes in through stdin-free config: a config file readable only by us.
  const conf = path.join(dataDir, 'redis.conf');
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      `dir ${dataDir}`,
      `requirepass ${password}`,
      // BullMQ requires that Redis never evicts its keys.
      'maxmemory-policy noeviction',
      ephemeral ? 'appendonly no' : 'appendonly yes',
      'appendfsync everysec',
      ephemeral ? 'save ""' : 'save 3600 1 300 100 60 10000',
      'daemonize no',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const out = fs.openSync(logFile, 'a');
  // Its own process group, as PostgreSQL's (see postgres.mjs): stopped by whoever started it, after its users.
  const child = spawn(bin, [conf], { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  onSpawn(child.pid);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const url = `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const { Redis } = await import('ioredis');
  await waitFor(
    async () => {
      if (exited) {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n');
        throw Object.assign(new Error(`redis-server exited (${exited.code ?? exited.signal}) while starting; ${logFile} ends with:\n${tail}`), { fatal: true });
      }
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
      client.on('error', () => {}); // not up yet: connect() rejects and we try again
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
    { timeoutMs: 30_000, what: `Redis on port ${port}` },
  );
  const stop = () =>
    new Promise((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM'); // Redis saves/fsyncs and exits on SIGTERM.
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
  return { url, stop, pid: child.pid, port };
}

