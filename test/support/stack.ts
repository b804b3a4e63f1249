import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase, uniqueRedisPrefix } from './database.js';
import { testEnv } from './env.js';
import { HttpClient } from './http.js';
import { type NinefoldProcess, startApi, startWorker } from './processes.js';
import { TcpProxy } from './tcp-proxy.js';

/** A running Ninefold for one test file: its own database and Redis prefix, an api, workers and an admin client. */
export interface Stack {
  db: TestDatabase;
  api: NinefoldProcess;
  workers: NinefoldProcess[];
  admin: HttpClient;
  adminKey: string;
  /** The environment the processes got (to start more of them). */
  env: Record<string, string>;
  /** The proxy Postgres is reached through, with `proxyPostgres` (cut and restore it to simulate an outage). */
  pg?: TcpProxy;
  /** A new key of this role, as a client. */
  client(role: 'agent' | 'viewer' | 'operator' | 'admin'): Promise<{ http: HttpClient; key: string }>;
  stop(): Promise<void>;
}

/**
 * Starts an api and `workers` workers (default 1) on a fresh copy of the
 * migrated database. `env` adds to or overrides the defaults; `databaseUrl`
 * lets a test route Postgres its own way, `proxyPostgres` through a
 * {@link TcpProxy} it can cut (`stack.pg`, restored and closed by `stop`).
 */
export async function startStack(
  opts: { env?: Record<string, string>; workers?: number; databaseUrl?: (db: TestDatabase) => Promise<string> | string; proxyPostgres?: boolean } = {},
): Promise<Stack> {
  const db = await createTestDatabase();
  const adminKey = `nf_${randomBytes(32).toString('base64url')}`;
  const proxied = opts.proxyPostgres ? await TcpProxy.for(db.url) : null;
  const env = {
    DATABASE_URL: proxied ? proxied.url : opts.databaseUrl ? await opts.databaseUrl(db) : db.url,
    REDIS_URL: testEnv().redisUrl,
    NINEFOLD_REDIS_PREFIX: uniqueRedisPrefix(),
    NINEFOLD_ADMIN_KEY: adminKey,
    DETECTOR_SWEEP_MS: '100',
    ...opts.env,
  };
  const [api, ...workers] = await Promise.all([startApi({ env }), ...Array.from({ length: opts.workers ?? 1 }, () => startWorker({ env }))]);
  const admin = new HttpClient(api.url, adminKey);
  const stack: Stack = {
    db,
    api,
    workers,
    admin,
    adminKey,
    env,
    pg: proxied?.proxy,
    async client(role) {
      const res = await stack.admin.post('/api/v1/keys', { name: `${role}-${randomBytes(3).toString('hex')}`, role });
      if (res.status !== 201) throw new Error(`could not create a ${role} key: ${res.status} ${res.text}`);
      return { http: stack.admin.withKey(res.body.key), key: res.body.key };
    },
    async stop() {
      await stack.pg?.restore();
      await Promise.all([stack.api.stop(), ...stack.workers.map((w) => w.stop())]);
      await stack.pg?.close();
      await db.drop();
    },
  };
  return stack;
}
