#!/usr/bin/env node
// npm run admin-key [-- --name NAME]: makes a new admin API key, for whoever
// runs Ninefold and lost the one the first start printed (or every admin key
// was revoked... which the API refuses for the last one). It writes to the
// database directly, so it needs no key: DATABASE_URL when set, else the
// embedded PostgreSQL under .ninefold/ (the running one, or started for the
// moment when Ninefold is stopped). The key is printed once, stored hashed.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkNode, ensureBuilt, ensureInstalled, root } from './lib/setup.mjs';

const log = (msg) => process.stderr.write(`ninefold admin-key: ${msg}\n`);
let args;
try {
  args = parseArgs({ options: { name: { type: 'string' } }, strict: true }).values;
} catch (err) {
  log(`${err.message.split('.')[0]}; usage: npm run admin-key [-- --name NAME]`);
  process.exit(64);
}
const name = args.name ?? `admin-${new Date().toISOString().slice(0, 10)}`;
if (!/^.{1,128}$/.test(name)) {
  log('--name must be 1 to 128 characters');
  process.exit(64);
}
checkNode();
ensureInstalled(log);
ensureBuilt(log);

const pg = (await import('pg')).default;
const { applyMigrations, defaultMigrationsDir } = await import(path.join(root, 'dist', 'libs', 'core', 'src', 'database', 'migrator.js'));
const { generateApiKey, hashApiKey, displayPrefix } = await import(path.join(root, 'dist', 'libs', 'core', 'src', 'auth', 'api-key.js'));

let url = process.env.DATABASE_URL;
let release = async () => {};
if (!url) {
  const home = path.resolve(process.env.NINEFOLD_HOME || path.join(root, '.ninefold'));
  const dataDir = path.join(home, 'postgres');
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log('there is no Ninefold database here yet: `npm start` creates it and prints an admin key on its first start (or set DATABASE_URL)');
    process.exit(1);
  }
  const { startPostgres, embeddedPostgresUrl } = await import('./lib/postgres.mjs');
  const { claim, reapIfOrphaned } = await import('./lib/owner.mjs');
  const running = await reapIfOrphaned(home);
  if (running.state === 'alive' && running.postgresPort) {
    url = embeddedPostgresUrl(dataDir, running.postgresPort, 'ninefold');
  } else if (running.state === 'alive') {
    log(`Ninefold (pid ${running.pid}) is starting or uses its own DATABASE_URL; try again once it is up, or set DATABASE_URL`);
    process.exit(1);
  } else {
    // Stopped: start its PostgreSQL for the moment, holding the directory so an `npm start` meanwhile waits its turn.
    const { freePort } = await import('./lib/ports.mjs');
    const owner = claim(home);
    const server = await startPostgres({ dataDir, port: await freePort(), database: 'ninefold', logFile: path.join(home, 'logs', 'postgres.log'), onSpawn: (pid) => owner.add(pid, dataDir, 'SIGINT') });
    url = server.url;
    release = async () => {
      await server.stop();
      owner.release();
    };
  }
}

const key = generateApiKey();
try {
  await applyMigrations(url, defaultMigrationsDir());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const id = randomUUID();
    await client.query('INSERT INTO api_keys (id, name, role, hash, prefix) VALUES ($1, $2, $3, $4, $5)', [id, name, 'admin', hashApiKey(key), displayPrefix(key)]);
    await client.query('INSERT INTO audit_log (action, target_type, target_id, details) VALUES ($1, $2, $3, $4)', ['key.create', 'api_key', id, JSON.stringify({ name, role: 'admin', via: 'npm run admin-key' })]);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
} catch (err) {
  log(`could not make the key: ${err.message}`);
  await release();
  process.exit(1);
}
await release();
process.stdout.write(`\n  New admin API key "${name}". It is shown only this once; store it now:\n\n    ${key}\n\n  Revoke keys you no longer trust with DELETE /api/v1/keys/:id.\n\n`);
