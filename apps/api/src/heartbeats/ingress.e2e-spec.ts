import type { TestDatabase } from '../../../../test/support/database.js';
import { HttpClient } from '../../../../test/support/http.js';
import { startWorker } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * POST /api/v1/heartbeats is served by its own Fastify instance ahead of Nest
 * (heartbeat-ingress.ts). On the wire it must behave like every other route,
 * and it refuses heartbeats with 503 once the backlog is full, without losing
 * any that it accepted. This stack starts with no worker, so accepted
 * heartbeats stay in the stream until the test starts one.
 */
describe('heartbeat ingress (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let agent: HttpClient;

  beforeAll(async () => {
    stack = await startStack({ workers: 0, env: { INGEST_BACKLOG_MAX: '1000' } });
    ({ db } = stack);
    ({ http: agent } = await stack.client('agent'));
  });

  afterAll(() => stack?.stop());

  it('answers errors as the contract JSON with a request id, like every other route', async () => {
    const anon = new HttpClient(stack.api.url);
    const noKey = await anon.post('/api/v1/heartbeats', { service: 'web', instance: 'a' });
    expect(noKey.status).toBe(401);
    expect(noKey.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(noKey.body.requestId).toBe(noKey.headers.get('x-request-id'));

    // A revoked key is refused at once (revocation drops it from the key cache).
    const created = await stack.admin.post('/api/v1/keys', { name: 'ingress-revoked', role: 'agent' });
    const revokedAgent = new HttpClient(stack.api.url, created.body.key);
    expect((await revokedAgent.post('/api/v1/heartbeats', { service: 'web', instance: 'a' })).status).toBe(202);
    expect((await stack.admin.delete(`/api/v1/keys/${created.body.id}`)).status).toBe(200);
    const revoked = await revokedAgent.post('/api/v1/heartbeats', { service: 'web', instance: 'a' });
    expect(revoked.status).toBe(401);
    expect(revoked.body.message).toMatch(/unknown or revoked/);

    const malformed = await agent.post('/api/v1/heartbeats', '{"service": "web", ');
    expect(malformed.status).toBe(400);
    expect(String(malformed.body.message)).toMatch(/malformed JSON/);

    const tooLarge = await agent.post('/api/v1/heartbeats', { service: 'web', instance: 'a', note: 'x'.repeat(1100 * 1024) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });

    const text = await agent.post('/api/v1/heartbeats', 'web a up', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);

    const invalid = await agent.post('/api/v1/heartbeats', { service: 'Bad Name!', instance: 'a' });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body.message)).toContain('service');
  });

  it('refuses bodies with __proto__ or constructor keys with a 400 naming them, storing nothing', async () => {
    const accepted = async () => Number(/ninefold_heartbeats_accepted_total (\d+)/.exec((await new HttpClient(stack.api.url).get('/metrics')).text)?.[1] ?? 0);
    const before = await accepted();
    const bodies: [string, string][] = [
      ['{"service":"web","instance":"p-1","__proto__":{"status":"down"}}', '__proto__ is not a heartbeat field'],
      ['{"service":"web","instance":"p-1","constructor":{"prototype":{"status":"down"}}}', 'constructor is not a heartbeat field'],
      ['{"heartbeats":[{"service":"web","instance":"p-1","metrics":{"dependencies":{"__proto__":{"calls":1}}}}]}', 'heartbeats[0].metrics.dependencies.__proto__'],
      ['{"__proto__":{"heartbeats":[]},"service":"web","instance":"p-1"}', '__proto__ is not a heartbeat field'],
    ];
    for (const [body, message] of bodies) {
      const res = await agent.post('/api/v1/heartbeats', body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain(message);
    }
    expect(await accepted()).toBe(before);
    // The same heartbeat without the extra key is accepted (and counted).
    expect((await agent.post('/api/v1/heartbeats', '{"service":"web","instance":"p-1"}')).status).toBe(202);
    expect(await accepted()).toBe(before + 1);
  });

  it('echoes X-Request-Id, accepts a query string, and counts requests in /metrics', async () => {
    const res = await agent.post('/api/v1/heartbeats?source=test', { service: 'ingress-web', instance: 'q-1' }, { 'x-request-id': 'hb-req-42' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1 });
    expect(res.headers.get('x-request-id')).toBe('hb-req-42');

    const metrics = await new HttpClient(stack.api.url).get('/metrics');
    expect(metrics.text).toMatch(/http_requests_total\{[^}]*route="\/api\/v1\/heartbeats"[^}]*status="202"[^}]*\} [1-9]/);
    expect(metrics.text).toMatch(/ninefold_heartbeats_accepted_total [1-9]/);
  });

  it('refuses heartbeats with 503 and Retry-After once the backlog is full, and loses none it accepted', async () => {
    // One request at a time: each is its own stream entry.
    let accepted = 0;
    for (let i = 0; i < 1000; i++) {
      const res = await agent.post('/api/v1/heartbeats', { service: 'ingress-backlog', instance: `b-${i % 50}` });
      expect(res.status).toBe(202);
      accepted++;
    }
    // The length is read at most once a second: keep sending until the api notices.
    const send = async () => {
      const r = await agent.post('/api/v1/heartbeats', { service: 'ingress-backlog', instance: 'b-0' });
      if (r.status === 202) accepted++;
      return r;
    };
    const refused = await until(send, (r) => r.status === 503, 10_000);
    expect(refused.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(String(refused.body.message)).toMatch(/backlog is full/);
    expect(refused.headers.get('retry-after')).toBe('5');

    // A worker drains the backlog; heartbeats are accepted again, without a restart.
    stack.workers.push(await startWorker({ env: stack.env }));
    expect((await until(send, (r) => r.status === 202, 30_000)).status).toBe(202);
    await until(
      () => db.query("SELECT count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = 'ingress-backlog'"),
      (r) => r.rows[0].n === accepted,
      30_000,
    );
  });

  it('stores every heartbeat of requests that arrive together (they share stream entries), each under its own instance', async () => {
    const service = 'ingress-together';
    const big = (tag: string) => ({ heartbeats: Array.from({ length: 1000 }, (_, i) => ({ service, instance: `${tag}-${i % 100}` })) });
    const sends = [
      ...Array.from({ length: 40 }, (_, i) => agent.post('/api/v1/heartbeats', { service, instance: `single-${i}` })),
      agent.post('/api/v1/heartbeats', big('big-a')),
      agent.post('/api/v1/heartbeats', big('big-b')),
      ...Array.from({ length: 10 }, (_, i) => agent.post('/api/v1/heartbeats', { heartbeats: [{ service, instance: `pair-${i}` }, { service, instance: `pair-${i}` }] })),
    ];
    const results = await Promise.all(sends);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 202));
    const expected = 40 + 2000 + 20;
    expect(results.reduce((n, r) => n + (r.body.accepted as number), 0)).toBe(expected);
    const rows = await until(
      () => db.query<{ id: string; n: number }>('SELECT i.name AS id, count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = $1 GROUP BY 1', [service]),
      (r) => r.rows.reduce((n, row) => n + row.n, 0) >= expected,
      30_000,
    );
    const byInstance = new Map(rows.rows.map((r) => [r.id, r.n]));
    expect([...byInstance.values()].reduce((a, b) => a + b, 0)).toBe(expected);
    expect(byInstance.get('single-7')).toBe(1);
    expect(byInstance.get('big-a-42')).toBe(10);
    expect(byInstance.get('big-b-99')).toBe(10);
    expect(byInstance.get('pair-3')).toBe(2);
  });

  it('stores a resent batch once when it carries the same Idempotency-Key', async () => {
    const service = 'ingress-idempotent';
    const batch = { heartbeats: [{ service, instance: 'i-1' }, { service, instance: 'i-2' }] };
    const first = await agent.post('/api/v1/heartbeats', batch, { 'idempotency-key': 'agent-batch-1' });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ accepted: 2 });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await agent.post('/api/v1/heartbeats', batch, { 'idempotency-key': 'agent-batch-1' });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ accepted: 2 });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // Another key is another batch; another API key has keys of its own.
    expect((await agent.post('/api/v1/heartbeats', batch, { 'idempotency-key': 'agent-batch-2' })).headers.get('idempotent-replayed')).toBeNull();
    const other = (await stack.client('agent')).http;
    expect((await other.post('/api/v1/heartbeats', batch, { 'idempotency-key': 'agent-batch-1' })).headers.get('idempotent-replayed')).toBeNull();
    const bad = await agent.post('/api/v1/heartbeats', batch, { 'idempotency-key': 'x'.repeat(300) });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.message)).toContain('Idempotency-Key');

    const rows = await until(
      () => db.query<{ n: number }>('SELECT count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = $1', [service]),
      (r) => r.rows[0].n >= 6,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would land right behind
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = $1', [service])).rows[0].n).toBe(6);
    expect(rows.rows[0].n).toBe(6);
  });
});
