import { createTestDatabase, type TestDatabase, uniqueRedisPrefix } from '../../../test/support/database.js';
import { testEnv } from '../../../test/support/env.js';
import { HttpClient } from '../../../test/support/http.js';
import { startApi } from '../../../test/support/processes.js';
import { TcpProxy } from '../../../test/support/tcp-proxy.js';
import { until } from '../../../test/support/until.js';

/** First start on an empty database, and start-up with wrong configuration. */
describe('api start-up (e2e)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    // An empty database: the api applies the migrations itself.
    db = await createTestDatabase({ fromTemplate: false });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('applies migrations, creates an admin key and prints it once; a restart prints none', async () => {
    const env = { DATABASE_URL: db.url, REDIS_URL: testEnv().redisUrl, NINEFOLD_REDIS_PREFIX: uniqueRedisPrefix() };
    const first = await startApi({ env });
    const keys = first.log.match(/nf_[A-Za-z0-9_-]{43}/g) ?? [];
    await first.stop();
    expect(keys).toHaveLength(1);
    expect(first.log).toContain('shown only this once');

    const second = await startApi({ env });
    try {
      expect(second.log).not.toMatch(/nf_[A-Za-z0-9_-]{43}/);
      const whoami = await new HttpClient(second.url, keys[0]).get('/api/v1/auth/whoami');
      expect(whoami.body).toMatchObject({ role: 'admin' });
    } finally {
      await second.stop();
    }
    const { rows } = await db.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL');
    expect(rows.length).toBeGreaterThan(0);
  });

  it('starts and serves while Redis is down, and becomes ready when Redis comes up', async () => {
    const { proxy, url: redisUrl } = await TcpProxy.for(testEnv().redisUrl);
    await proxy.cut();
    const adminKey = `nf_${'k'.repeat(43)}`;
    const other = await createTestDatabase();
    const api = await startApi({ env: { DATABASE_URL: other.url, REDIS_URL: redisUrl, NINEFOLD_REDIS_PREFIX: uniqueRedisPrefix(), NINEFOLD_ADMIN_KEY: adminKey }, waitReady: false });
    try {
      const anon = new HttpClient(api.url);
      const health = await until(() => anon.get('/healthz').then((r) => r.status, () => 0), (s) => s === 200, 30_000);
      expect(health).toBe(200);
      const ready = await anon.get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.message).toBe('redis is down');
      // Keys live in Postgres: authenticated calls that need no Redis keep working.
      expect((await anon.withKey(adminKey).get('/api/v1/auth/whoami')).status).toBe(200);

      await proxy.restore();
      const status = await until(() => anon.get('/readyz').then((r) => r.status), (s) => s === 200, 15_000);
      expect(status).toBe(200);
      await proxy.cut();
      // Stopping does not hang on an unreachable Redis.
      await api.stop(8000);
      // Nest re-raises SIGTERM once closed; SIGKILL would mean it hung, exit code 1 the watchdog.
      expect(await api.waitForExit()).toEqual({ code: null, signal: 'SIGTERM' });
    } finally {
      await api.kill();
      await proxy.close();
      await other.drop();
    }
  });

  it('refuses to start with wrong configuration, naming each bad variable and hiding secrets', async () => {
    const proc = await startApi({
      env: { PORT: '99999', DATABASE_URL: 'mysql://user:hunter2@db/x', REDIS_URL: '', LOG_LEVEL: 'loud', BODY_LIMIT_BYTES: 'lots' },
      waitReady: false,
    });
    const { code } = await proc.waitForExit();
    expect(code).toBe(1);
    for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'BODY_LIMIT_BYTES']) expect(proc.log).toContain(name);
    expect(proc.log).not.toContain('hunter2');
    expect(proc.log).not.toMatch(/\bat .+\.js:\d+/);
  });
});
