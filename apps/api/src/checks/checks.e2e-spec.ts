import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestDatabase } from '../../../../test/support/database.js';
import type { HttpClient } from '../../../../test/support/http.js';
import { freePort, type NinefoldProcess } from '../../../../test/support/processes.js';
import { startTestProber, type TestProber } from '../../../../test/support/prober.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/** Pull checks run by the workers (and by probers), each result a heartbeat. */
describe('pull checks (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let api: NinefoldProcess;
  let admin: HttpClient;
  let target: http.Server;
  let targetUrl: string;
  let healthy = true;
  let prober: TestProber | undefined;
  const unique = () => `ck-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    // Two workers: each check run must be taken by exactly one of them.
    stack = await startStack({ workers: 2 });
    ({ db, api, admin } = stack);
    target = http.createServer((req, res) => {
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(healthy ? 'status: all good' : 'status: broken');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/healthz`;
  });

  afterAll(async () => {
    await prober?.stop();
    target?.close();
    await stack?.stop();
  });

  const instance = async (service: string, id: string) =>
    ((await admin.get(`/api/v1/discovery/${service}?all=true`)).body.items as { id: string; state: string; status: string }[] | undefined)?.find((i) => i.id === id);

  it('runs an HTTP check on the workers: UP while it passes, degraded on one failure, DOWN after more than `retries`', async () => {
    const service = unique();
    const created = await admin.post('/api/v1/checks', { service, instance: 'web', type: 'http', target: targetUrl, intervalSeconds: 1, timeoutMs: 1000, expectBody: 'all good', retries: 1 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ service, instance: 'web', type: 'http', runOn: 'worker', retries: 1 });

    await until(() => instance(service, 'web'), (i) => i?.state === 'UP', 15_000);
    const passing = await admin.get(`/api/v1/checks/${created.body.id}`);
    expect(passing.body.last).toMatchObject({ ok: true, status: 200, reported: 'up', consecutiveFailures: 0 });
    expect(passing.body.last.ranBy).toMatch(/^worker:/);

    healthy = false;
    try {
      const down = await until(() => instance(service, 'web'), (i) => i?.state === 'DOWN', 15_000);
      expect(down?.status).toBe('down');
      const failing = await admin.get(`/api/v1/checks/${created.body.id}`);
      expect(failing.body.last).toMatchObject({ ok: false, status: 503, reported: 'down' });
      expect(failing.body.last.consecutiveFailures).toBeGreaterThanOrEqual(2);
      // The failure before it was reported as degraded, not down.
      const { rows } = await db.query<{ status: string }>(
        `SELECT h.status FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = $1 ORDER BY h.id`,
        [service],
      );
      const statuses = rows.map((r) => r.status);
      expect(statuses.indexOf('degraded')).toBeGreaterThan(-1);
      expect(statuses.indexOf('degraded')).toBeLessThan(statuses.indexOf('down'));
    } finally {
      healthy = true;
    }
    await until(() => instance(service, 'web'), (i) => i?.state === 'UP', 15_000);
  });

  it('runs each check once per interval across two workers, and stops when it is deleted', async () => {
    const service = unique();
    const created = await admin.post('/api/v1/checks', { service, type: 'tcp', target: `127.0.0.1:${(target.address() as AddressInfo).port}`, intervalSeconds: 1, timeoutMs: 500 });
    expect(created.body.instance).toBe(`127.0.0.1-${(target.address() as AddressInfo).port}`);
    await until(() => instance(service, created.body.instance), (i) => i?.state === 'UP', 15_000);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const count = async () =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = $1', [service])).rows[0].n;
    const runs = await count();
    // One run per second in all (not one per worker): at most the seconds elapsed since the first run, plus the first.
    expect(runs).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 2);
    expect(runs).toBeGreaterThanOrEqual(3);

    expect((await admin.delete(`/api/v1/checks/${created.body.id}`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await count();
    await new Promise((r) => setTimeout(r, 2000));
    expect(await count()).toBe(after);
    expect((await admin.get(`/api/v1/checks/${created.body.id}`)).status).toBe(404);
  });

  it('reports a TCP check against a closed port as DOWN', async () => {
    const service = unique();
    const created = await admin.post('/api/v1/checks', { service, instance: 'db', type: 'tcp', target: `127.0.0.1:${await freePort()}`, intervalSeconds: 1, timeoutMs: 500, retries: 0 });
    await until(() => instance(service, 'db'), (i) => i?.state === 'DOWN', 15_000);
    expect((await admin.get(`/api/v1/checks/${created.body.id}`)).body.last).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
  });

  it('hands runOn=probers checks to a connected prober agent', async () => {
    const { key: agentKey } = await stack.client('agent');
    prober = startTestProber(api.url, agentKey, { name: 'p1', zone: 'z1' });
    const service = unique();
    const created = await admin.post('/api/v1/checks', { service, instance: 'edge', type: 'http', target: targetUrl, intervalSeconds: 1, timeoutMs: 1000, runOn: 'probers' });
    await until(() => instance(service, 'edge'), (i) => i?.state === 'UP', 15_000);
    expect((await admin.get(`/api/v1/checks/${created.body.id}`)).body.last.ranBy).toMatch(/^prober:/);
    expect(prober.answered.some((a) => a.target === targetUrl)).toBe(true);
  });

  it('takes a check with only service, type and target, with the agent\'s defaults (10 s, 2,000 ms)', async () => {
    const service = unique();
    const created = await admin.post('/api/v1/checks', { service, type: 'tcp', target: `127.0.0.1:${await freePort()}` });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ intervalSeconds: 10, timeoutMs: 2000, retries: 1, runOn: 'worker' });
    const quick = await admin.post('/api/v1/checks', { service, type: 'tcp', target: `127.0.0.1:${await freePort()}`, intervalSeconds: 1 });
    expect(quick.body).toMatchObject({ intervalSeconds: 1, timeoutMs: 500 });
    for (const c of [created, quick]) expect((await admin.delete(`/api/v1/checks/${c.body.id}`)).status).toBe(204);
  });

  it('rejects bad checks, naming the field', async () => {
    const bad = await admin.post('/api/v1/checks', { service: 'x', type: 'icmp', target: 'x', intervalSeconds: 0, timeoutMs: 5 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(expect.arrayContaining(['type must be one of http, tcp', expect.stringMatching(/^intervalSeconds/), expect.stringMatching(/^timeoutMs/)]));
    const badTarget = await admin.post('/api/v1/checks', { service: 'x', type: 'tcp', target: 'no-port', intervalSeconds: 5, timeoutMs: 500 });
    expect(badTarget.status).toBe(400);
    expect(badTarget.body.message).toEqual(['target must be host:port for a tcp check']);
    const { http: viewer } = await stack.client('viewer');
    expect((await viewer.post('/api/v1/checks', { service: 'x', type: 'tcp', target: 'a:1', intervalSeconds: 5, timeoutMs: 500 })).status).toBe(403);
    expect((await viewer.get('/api/v1/checks')).status).toBe(200);
  });
});
