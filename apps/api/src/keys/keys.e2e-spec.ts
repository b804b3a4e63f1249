import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase, uniqueRedisPrefix } from '../../../../test/support/database.js';
import { testEnv } from '../../../../test/support/env.js';
import { HttpClient } from '../../../../test/support/http.js';
import { type NinefoldProcess, startApi } from '../../../../test/support/processes.js';

/** API keys and roles, against two api replicas sharing one Postgres and one Redis. */
describe('API keys and roles (e2e)', () => {
  let db: TestDatabase;
  let apiA: NinefoldProcess;
  let apiB: NinefoldProcess;
  let adminA: HttpClient;
  const adminKey = `nf_${randomBytes(32).toString('base64url')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: testEnv().redisUrl,
      NINEFOLD_REDIS_PREFIX: uniqueRedisPrefix(),
      NINEFOLD_ADMIN_KEY: adminKey,
      KEY_LAST_USED_FLUSH_SECONDS: '1',
      LOG_REQUESTS: 'true',
      // Long enough that only an explicit revocation can make a replica forget a key during the test.
      KEY_CACHE_TTL_SECONDS: '600',
    };
    [apiA, apiB] = await Promise.all([startApi({ env }), startApi({ env })]);
    adminA = new HttpClient(apiA.url, adminKey);
  });

  afterAll(async () => {
    await Promise.all([apiA?.stop(), apiB?.stop()]);
    await db?.drop();
  });

  async function createKey(role: string, name = `${role}-${randomBytes(3).toString('hex')}`) {
    const res = await adminA.post('/api/v1/keys', { name, role });
    expect(res.status).toBe(201);
    return res.body as { id: string; key: string; name: string; role: string };
  }

  it('creates the admin key from NINEFOLD_ADMIN_KEY on first start, once, even with two replicas starting together', async () => {
    const { rows } = await db.query<{ name: string; role: string }>('SELECT name, role FROM api_keys');
    expect(rows).toEqual([{ name: 'bootstrap-admin', role: 'admin' }]);
    expect((await adminA.get('/api/v1/auth/whoami')).body).toMatchObject({ name: 'bootstrap-admin', role: 'admin' });
  });

  it('shows a new key once, stores only its hash, and never lists the key', async () => {
    const created = await createKey('agent', 'agents-prod');
    expect(created.key).toMatch(/^nf_[A-Za-z0-9_-]{43}$/);
    const { rows } = await db.query<{ hash: string; prefix: string }>('SELECT hash, prefix FROM api_keys WHERE id = $1', [created.id]);
    expect(rows[0].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(created.key);
    const list = await adminA.get('/api/v1/keys?limit=500');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(created.key);
    expect(list.body.items.find((k: { id: string }) => k.id === created.id)).toMatchObject({ name: 'agents-prod', role: 'agent', prefix: created.key.slice(0, 10), revokedAt: null });
    expect(list.body.items[0]).not.toHaveProperty('key');
    expect(list.body.items[0]).not.toHaveProperty('hash');
  });

  it('pages the key list with limit and cursor', async () => {
    for (let i = 0; i < 3; i++) await createKey('viewer');
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await adminA.get(`/api/v1/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      for (const k of res.body.items) seen.add(k.id);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    const { rows } = await db.query('SELECT id FROM api_keys');
    expect(seen.size).toBe(rows.length);
    expect(pages).toBeGreaterThan(1);
    const bad = await adminA.get('/api/v1/keys?cursor=nope');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.message)).toContain('cursor');
  });

  it('answers 401 without a key or with an unknown one, and 403 when the role is too small', async () => {
    const anon = new HttpClient(apiA.url);
    const noKey = await anon.get('/api/v1/keys');
    expect(noKey.status).toBe(401);
    expect(noKey.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect((await anon.withKey('nf_not-a-real-key').get('/api/v1/keys')).status).toBe(401);
    expect((await anon.get('/api/v1/keys', { authorization: 'Basic YWRtaW46YWRtaW4=' })).status).toBe(401);

    for (const role of ['agent', 'viewer', 'operator']) {
      const { key } = await createKey(role);
      const client = new HttpClient(apiA.url, key);
      const list = await client.get('/api/v1/keys');
      expect(list.status).toBe(403);
      expect(list.body.message).toContain('admin');
      expect((await client.post('/api/v1/keys', { name: 'x', role: 'agent' })).status).toBe(403);
      // Every role may ask who it is.
      expect((await client.get('/api/v1/auth/whoami')).body).toMatchObject({ role });
    }
  });

  it('revokes a key at once on every replica, even one that has it cached', async () => {
    const { id, key } = await createKey('admin');
    const onA = new HttpClient(apiA.url, key);
    const onB = new HttpClient(apiB.url, key);
    // Both replicas have now verified (and cached) the key.
    expect((await onA.get('/api/v1/keys')).status).toBe(200);
    expect((await onB.get('/api/v1/keys')).status).toBe(200);

    const revoked = await adminA.delete(`/api/v1/keys/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));

    // Replica B learns of it through Redis; allow the message a moment to cross.
    const deadline = Date.now() + 2000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await onB.get('/api/v1/keys')).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(401);
    expect((await onA.get('/api/v1/keys')).status).toBe(401);
    // Revoking again is harmless.
    expect((await adminA.delete(`/api/v1/keys/${id}`)).status).toBe(200);
  });

  it('answers 404 for an unknown key id and 400 for a malformed one', async () => {
    const unknown = await adminA.delete('/api/v1/keys/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    const bad = await adminA.delete('/api/v1/keys/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.message)).toContain('id');
  });

  it('refuses to revoke the last active admin key (409) so nobody is locked out', async () => {
    const { rows } = await db.query<{ id: string }>("SELECT id FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL");
    // Revoke every other admin first, then the last one must be refused.
    const bootstrap = (await db.query<{ id: string }>("SELECT id FROM api_keys WHERE name = 'bootstrap-admin'")).rows[0].id;
    for (const r of rows) if (r.id !== bootstrap) expect((await adminA.delete(`/api/v1/keys/${r.id}`)).status).toBe(200);
    const last = await adminA.delete(`/api/v1/keys/${bootstrap}`);
    expect(last.status).toBe(409);
    expect(last.body.message).toContain('last active admin key');
  });

  it('records when each key was last used, without a write per request', async () => {
    const { id, key } = await createKey('viewer');
    const client = new HttpClient(apiB.url, key);
    for (let i = 0; i < 20; i++) await client.get('/api/v1/auth/whoami');
    const deadline = Date.now() + 10_000;
    let lastUsed: Date | null = null;
    while (!lastUsed && Date.now() < deadline) {
      lastUsed = (await db.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys WHERE id = $1', [id])).rows[0].last_used_at;
      if (!lastUsed) await new Promise((r) => setTimeout(r, 200));
    }
    expect(lastUsed).not.toBeNull();
    const listed = (await adminA.get('/api/v1/keys?limit=500')).body.items.find((k: { id: string }) => k.id === id);
    expect(listed.lastUsedAt).toEqual(expect.any(String));
  });

  it('keeps an audit log of key creation and revocation with the acting key', async () => {
    const { id } = await createKey('agent', 'audited');
    await adminA.delete(`/api/v1/keys/${id}`);
    const { rows } = await db.query<{ action: string; actor_key_id: string | null; request_id: string | null }>(
      'SELECT action, actor_key_id, request_id FROM audit_log WHERE target_id = $1 ORDER BY id',
      [id],
    );
    const bootstrap = (await db.query<{ id: string }>("SELECT id FROM api_keys WHERE name = 'bootstrap-admin'")).rows[0].id;
    expect(rows.map((r) => r.action)).toEqual(['key.create', 'key.revoke']);
    for (const r of rows) {
      expect(r.actor_key_id).toBe(bootstrap);
      expect(r.request_id).toEqual(expect.any(String));
    }
  });

  it('never writes a key or the Authorization header to the logs', async () => {
    const { key } = await createKey('viewer');
    await new HttpClient(apiA.url, key).get('/api/v1/auth/whoami');
    expect(apiA.log).not.toContain(key);
    expect(apiA.log).not.toContain(adminKey);
  });
});
