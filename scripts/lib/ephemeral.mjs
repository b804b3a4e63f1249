// Throwaway Postgres + Redis in a temporary directory, for tests and tooling.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgres } from './postgres.mjs';
import { startRedis } from './redis.mjs';
import { freePort } from './ports.mjs';

/**
 * @param {{ redis?: boolean, log?: (msg: string) => void }} [opts]
 * @returns {Promise<{ dir: string, pgAdminUrl: string, databaseUrl: string, redisUrl?: string, stop: () => Promise<void> }>}
 */
export async function startEphemeralServices({ redis = true, log = () => {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ninefold-'));
  const stops = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
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
    stops.push(pg.stop);
    let redisUrl;
    if (redis) {
      const r = await startRedis({ dataDir: path.join(dir, 'redis'), port: await freePort(), logFile: path.join(dir, 'redis.log'), ephemeral: true, log });
      stops.push(r.stop);
      redisUrl = r.url;
    }
    return { dir, pgAdminUrl: pg.adminUrl, databaseUrl: pg.url, redisUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
