import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase, uniqueRedisPrefix } from '../../../../test/support/database.js';
import { testEnv } from '../../../../test/support/env.js';
import { HttpClient } from '../../../../test/support/http.js';
import { type NinefoldProcess, startApi } from '../../../../test/support/processes.js';
import { openApiProblems } from '../../../../test/support/openapi.js';
import { TcpProxy } from '../../../../test/support/tcp-proxy.js';
import { until } from '../../../../test/support/until.js';

/**
 * Operations endpoints and error handling. Postgres and Redis are reached
 * through TCP proxies so this file can take them "down" without touching the
 * servers other test files share.
 */
describe('operations endpoints and errors (e2e)', () => {
  let db: TestDatabase;
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let api: NinefoldProcess;
  let anon: HttpClient;
  let admin: HttpClient;
  const adminKey = `nf_${randomBytes(32).toString('base64url')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    const pg = await TcpProxy.for(db.url);
    const redis = await TcpProxy.for(testEnv().redisUrl);
    pgProxy = pg.proxy;
    redisProxy = redis.proxy;
    api = await startApi({
      env: { DATABASE_URL: pg.url, REDIS_URL: redis.url, NINEFOLD_REDIS_PREFIX: uniqueRedisPrefix(), NINEFOLD_ADMIN_KEY: adminKey, BODY_LIMIT_BYTES: '65536' },
    });
    anon = new HttpClient(api.url);
    admin = anon.withKey(adminKey);
  });

  afterAll(async () => {
    await api?.stop();
    await pgProxy?.close();
    await redisProxy?.close();
    await db?.drop();
  });

  it('/healthz answers 200 without a key', async () => {
    const res = await anon.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('/ serves the web UI page without a key', async () => {
    const res = await anon.get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toContain('Ninefold');
    expect(res.text).toContain('/api/docs');
  });

  it('/readyz answers 200 with both dependencies up', async () => {
    const res = await anon.get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks.postgres.status).toBe('up');
    expect(res.body.checks.redis.status).toBe('up');
  });

  it('/readyz answers 503 naming Redis while it is down, and 200 again once it is back, without a restart', async () => {
    await redisProxy.cut();
    const down = await until(() => anon.get('/readyz'), (r) => r.status === 503, 10_000);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBeTruthy();
    expect(down.body.message).toBe('redis is down');
    expect(down.body.checks.redis.status).toBe('down');
    expect(down.body.checks.postgres.status).toBe('up');
    expect((await anon.get('/healthz')).status).toBe(200);

    await redisProxy.restore();
    const up = await until(() => anon.get('/readyz'), (r) => r.status === 200, 15_000);
    expect(up.status).toBe(200);
    expect(api.hasExited).toBe(false);
  });

  it('/readyz answers 503 naming Postgres while it is down, API calls get 503 (not 500), and all recover', async () => {
    // A key the api has not seen yet, so verifying it needs Postgres.
    const fresh = await admin.post('/api/v1/keys', { name: 'late', role: 'viewer' });
    expect(fresh.status).toBe(201);
    const status = await anon.get('/api/v1/status');
    expect(status.status).toBe(200);
    const statusAt = Date.now();
    await pgProxy.cut();
    const down = await until(() => anon.get('/readyz'), (r) => r.status === 503, 10_000);
    expect(down.body.message).toBe('postgres is down');
    expect(down.body.checks.postgres.status).toBe('down');
    expect(down.body.checks.redis.status).toBe('up');

    const call = await anon.withKey(fresh.body.key).get('/api/v1/auth/whoami');
    expect(call.status).toBe(503);
    expect(call.headers.get('retry-after')).toBeTruthy();
    expect(call.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(call.text).not.toMatch(/\bat .+\.js:\d+/);
    // The error id in the response finds the details in the log.
    expect(call.body.errorId).toMatch(/^[0-9a-f-]{36}$/);
    await api.waitForLine((l) => l.includes(call.body.errorId), 5000);

    // The public status page outlives its 10-second cache: the last answer, as it was.
    await new Promise((r) => setTimeout(r, Math.max(0, statusAt + 10_500 - Date.now())));
    const stale = await anon.get('/api/v1/status');
    expect(stale.status).toBe(200);
    expect(stale.body.updatedAt).toBe(status.body.updatedAt);

    await pgProxy.restore();
    const up = await until(() => anon.get('/readyz'), (r) => r.status === 200, 20_000);
    expect(up.status).toBe(200);
    const again = await until(() => anon.withKey(fresh.body.key).get('/api/v1/auth/whoami'), (r) => r.status === 200, 20_000);
    expect(again.body).toMatchObject({ name: 'late', role: 'viewer' });
  });

  it('/metrics serves Prometheus text with request counts and latency by route and status, queue depths and process metrics', async () => {
    await admin.get('/api/v1/keys');
    await anon.get('/api/v1/keys');
    const res = await anon.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toMatch(/^ninefold_http_requests_total\{method="GET",route="\/api\/v1\/keys",status="200"\} \d+$/m);
    expect(res.text).toMatch(/^ninefold_http_requests_total\{method="GET",route="\/api\/v1\/keys",status="401"\} \d+$/m);
    expect(res.text).toMatch(/^ninefold_http_request_duration_seconds_bucket\{le="0\.1",method="GET",route="\/api\/v1\/keys",status="200"\} \d+$/m);
    expect(res.text).toMatch(/^ninefold_queue_jobs\{queue="maintenance",state="waiting"\} \d+$/m);
    expect(res.text).toMatch(/^ninefold_process_resident_memory_bytes \d+/m);
    // Every sample line is "name{labels} value" (a light form of promtool's check).
    for (const line of res.text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+|NaN|[+-]Inf$/);
    }
  });

  it('serves the OpenAPI 3 document and Swagger UI, documenting every endpoint with its errors', async () => {
    const doc = await anon.get('/api/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const paths = doc.body.paths as Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
    for (const p of ['/healthz', '/readyz', '/metrics', '/api/v1/keys', '/api/v1/keys/{id}', '/api/v1/auth/whoami']) expect(paths).toHaveProperty([p]);
    for (const [p, ops] of Object.entries(paths)) {
      if (!p.startsWith('/api/v1')) continue;
      // Endpoints that need a key document its errors; public ones (the status page) at least the outage answer.
      for (const op of Object.values(ops)) expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(op.security ? ['400', '401', '403', '503'] : ['503']));
    }
    expect(paths['/api/v1/status'].get.security).toBeUndefined();
    for (const [p, ops] of Object.entries(paths)) {
      if (!p.startsWith('/api/v1') || p === '/api/v1/status') continue;
      for (const op of Object.values(ops)) expect(op.security).toBeDefined();
    }
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    // A full validation of the document against the OpenAPI 3 specification.
    expect(openApiProblems(doc.body)).toBeNull();
    const ui = await anon.get('/api/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  describe('bad input gets a clear 4xx, never a 500 or a stack trace', () => {
    it('400 names each bad field, including unknown ones', async () => {
      const res = await admin.post('/api/v1/keys', { name: '', role: 'king', extra: 1 });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Bad Request');
      const messages = (res.body.message as string[]).join('\n');
      expect(messages).toMatch(/name/);
      expect(messages).toMatch(/role must be one of: agent, viewer, operator, admin/);
      expect(messages).toMatch(/extra/);
    });

    it('400 for malformed JSON', async () => {
      const res = await admin.post('/api/v1/keys', '{"name": "x", ');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(String(res.body.message)).toMatch(/JSON/i);
    });

    it('400 for a query parameter out of range', async () => {
      const res = await admin.get('/api/v1/keys?limit=0');
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain('limit');
    });

    it('413 for a body over the limit', async () => {
      const res = await admin.post('/api/v1/keys', { name: 'x'.repeat(70_000), role: 'agent' });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    });

    it('415 for a body that is not JSON', async () => {
      const res = await admin.post('/api/v1/keys', 'name=x&role=agent', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(res.status).toBe(415);
      const text = await admin.post('/api/v1/keys', 'hello', { 'content-type': 'text/plain' });
      expect(text.status).toBe(415);
    });

    it('404 for an unknown route, as JSON', async () => {
      const res = await anon.get('/api/v1/nothing-here');
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    });

    it('echoes X-Request-Id, and makes one when none is sent', async () => {
      const given = await anon.get('/healthz', { 'x-request-id': 'req-abc-123' });
      expect(given.headers.get('x-request-id')).toBe('req-abc-123');
      const made = await anon.get('/api/v1/keys');
      expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(made.body.requestId).toBe(made.headers.get('x-request-id'));
    });
  });
});
