import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { TestDatabase } from '../../../../test/support/database.js';
import { HttpClient } from '../../../../test/support/http.js';
import { type NinefoldProcess, startApi } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

interface Instance {
  id: string;
  state: string;
  status: string | null;
  zone: string | null;
  address: string | null;
  reason: string | null;
  lastSeenAt: string | null;
}

/** Heartbeats through the real api and worker: self-registration, failure detection, discovery. */
describe('heartbeats, failure detection and discovery (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let api: NinefoldProcess;
  let admin: HttpClient;
  let adminKey: string;
  let agent: HttpClient;
  let agentKey: string;
  const unique = () => `svc-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    stack = await startStack({ env: { LEADER_LEASE_MS: '2000' } });
    ({ db, api, admin, adminKey } = stack);
    ({ http: agent, key: agentKey } = await stack.client('agent'));
  });

  afterAll(() => stack?.stop());

  async function instances(service: string): Promise<Instance[]> {
    const res = await admin.get(`/api/v1/discovery/${service}?all=true`);
    return res.status === 200 ? res.body.items : [];
  }

  async function stateOf(service: string, id: string): Promise<Instance | undefined> {
    return (await instances(service)).find((i) => i.id === id);
  }

  it('accepts a heartbeat with 202 and registers the unknown service and instance', async () => {
    const service = unique();
    const res = await agent.post('/api/v1/heartbeats', { service, instance: 'a-1', address: '10.0.0.1', zone: 'z1', intervalSeconds: 5 });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1 });

    const inst = await until(() => stateOf(service, 'a-1'), (i) => i?.state === 'UP', 10_000);
    expect(inst).toMatchObject({ state: 'UP', status: 'up', address: '10.0.0.1', zone: 'z1', reason: 'first heartbeat' });
    const svc = await admin.get(`/api/v1/services/${service}`);
    expect(svc.status).toBe(200);
    expect(svc.body).toMatchObject({ name: service, state: 'UP', selfRegistered: true, canLose: 0 });

    // Stored in Postgres: the instance, its first transition and the heartbeat itself.
    const rows = await db.query('SELECT i.name, i.self_registered FROM instances i JOIN services s ON s.id = i.service_id WHERE s.name = $1', [service]);
    expect(rows.rows).toEqual([{ name: 'a-1', self_registered: true }]);
    await until(
      () => db.query('SELECT count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = $1', [service]),
      (r) => r.rows[0].n === 1,
      10_000,
    );
    // State history is recorded from the transitions outbox, a moment after the live state changed.
    const transitions = await until(
      () => db.query('SELECT "from", "to", reason FROM instance_transitions t JOIN services s ON s.id = t.service_id WHERE s.name = $1', [service]),
      (r) => r.rows.length > 0,
      10_000,
    );
    expect(transitions.rows).toEqual([{ from: 'UNKNOWN', to: 'UP', reason: 'first heartbeat' }]);
  });

  it('stores a batch with its metrics as per-minute rollups', async () => {
    const service = unique();
    const beat = (instance: string, calls: number, failures: number) => ({
      service,
      instance,
      metrics: { requests: { total: 100, errors: 2 }, dependencies: { postgres: { calls, failures, slowCalls: 1, latencyMsP99: 40 } }, rateLimited: { 'per-user': 3 } },
    });
    const res = await agent.post('/api/v1/heartbeats', { heartbeats: [beat('b-1', 10, 1), beat('b-1', 20, 2), beat('b-2', 5, 0)] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 3 });
    const deps = await until(
      () =>
        db.query<{ name: string; calls: string; failures: string; slow_calls: string }>(
          `SELECT i.name, sum(d.calls)::text AS calls, sum(d.failures)::text AS failures, sum(d.slow_calls)::text AS slow_calls
             FROM dependency_rollups d JOIN instances i ON i.id = d.instance_id JOIN services s ON s.id = d.service_id
            WHERE s.name = $1 AND d.dependency = 'postgres' GROUP BY i.name ORDER BY i.name`,
          [service],
        ),
      (r) => r.rows.length === 2,
      10_000,
    );
    expect(deps.rows).toEqual([
      { name: 'b-1', calls: '30', failures: '3', slow_calls: '2' },
      { name: 'b-2', calls: '5', failures: '0', slow_calls: '1' },
    ]);
    const req = await db.query<{ total: string; errors: string; heartbeats: number }>(
      `SELECT sum(total)::text AS total, sum(errors)::text AS errors, sum(heartbeats)::int AS heartbeats FROM request_rollups r JOIN services s ON s.id = r.service_id WHERE s.name = $1`,
      [service],
    );
    expect(req.rows[0]).toEqual({ total: '300', errors: '6', heartbeats: 3 });
    const limited = await db.query<{ count: string }>(`SELECT sum(count)::text AS count FROM rate_limit_rollups l JOIN services s ON s.id = l.service_id WHERE s.name = $1 AND policy = 'per-user'`, [service]);
    expect(limited.rows[0].count).toBe('9');
  });

  it('rejects a batch with any invalid item, naming each bad item and field, and stores none of it', async () => {
    const service = unique();
    const res = await agent.post('/api/v1/heartbeats', {
      heartbeats: [
        { service, instance: 'ok-1' },
        { service, instance: 'Bad Name' },
        { service, instance: 'ok-2', status: 'sideways', metrics: { requests: { total: 1, errors: 5 } } },
        { instance: 'ok-3' },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^heartbeats\[1\]\.instance must match/),
        expect.stringMatching(/^heartbeats\[2\]\.status must be one of up, degraded, down/),
        'heartbeats[2].metrics.requests.errors must not exceed total',
        'heartbeats[3].service is required',
      ]),
    );
    expect(res.body.message.some((m: string) => m.startsWith('heartbeats[0]'))).toBe(false);

    // A valid heartbeat of another service goes through after it: the bad batch left nothing behind.
    const marker = unique();
    expect((await agent.post('/api/v1/heartbeats', { service: marker, instance: 'm-1' })).status).toBe(202);
    await until(() => stateOf(marker, 'm-1'), (i) => i?.state === 'UP', 10_000);
    const rows = await db.query('SELECT 1 FROM services WHERE name = $1', [service]);
    expect(rows.rowCount).toBe(0);

    const tooMany = await agent.post('/api/v1/heartbeats', { heartbeats: Array.from({ length: 1001 }, (_, i) => ({ service, instance: `i-${i}` })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toEqual(['heartbeats must contain at most 1000 heartbeats (got 1001)']);
    expect((await agent.post('/api/v1/heartbeats', [])).status).toBe(400);
  });

  it('takes a silent instance UP → SUSPECT after its ttl, → DOWN after grace, and back UP on the next heartbeat', async () => {
    const service = unique();
    expect((await agent.post(`/api/v1/services/${service}/instances`, { id: 'c-1', address: '10.0.0.3', ttlSeconds: 2, graceSeconds: 1 })).status).toBe(201);
    expect(await stateOf(service, 'c-1')).toMatchObject({ state: 'UNKNOWN' });

    const sentAt = Date.now();
    expect((await agent.post('/api/v1/heartbeats', { service, instance: 'c-1' })).status).toBe(202);
    await until(() => stateOf(service, 'c-1'), (i) => i?.state === 'UP', 10_000);

    const suspect = await until(() => stateOf(service, 'c-1'), (i) => i?.state !== 'UP', 10_000);
    expect(suspect).toMatchObject({ state: 'SUSPECT' });
    expect(suspect?.reason).toMatch(/^no heartbeat for [\d.]+s \(ttl 2s\)$/);
    const down = await until(() => stateOf(service, 'c-1'), (i) => i?.state === 'DOWN', 10_000);
    expect(down?.reason).toMatch(/ttl 2s \+ grace 1s/);
    // Not before ttl + grace (3 s) of silence; the bound on lateness is the benchmark's business, not a test's.
    const { rows } = await until(
      () => db.query<{ to: string; at: Date }>(`SELECT t."to", t.at FROM instance_transitions t JOIN services s ON s.id = t.service_id WHERE s.name = $1 ORDER BY t.id`, [service]),
      (r) => r.rows.length >= 3,
      10_000,
    );
    expect(rows.map((r) => r.to)).toEqual(['UP', 'SUSPECT', 'DOWN']);
    expect(rows[1].at.getTime() - sentAt).toBeGreaterThanOrEqual(2000 - 50);
    expect(rows[2].at.getTime() - sentAt).toBeGreaterThanOrEqual(3000 - 50);

    const svc = await admin.get(`/api/v1/services/${service}`);
    expect(svc.body.state).toBe('DOWN');

    expect((await agent.post('/api/v1/heartbeats', { service, instance: 'c-1' })).status).toBe(202);
    const back = await until(() => stateOf(service, 'c-1'), (i) => i?.state === 'UP', 10_000);
    expect(back?.reason).toMatch(/^heartbeat received; down since /);
    const recovered = await until(() => admin.get(`/api/v1/services/${service}`), (r) => r.body.state === 'UP', 10_000);
    // Its outage shows in its availability: some of the known time was DOWN; the 30-day figure has the same data.
    const a = recovered.body.availability;
    expect(a['1h']).toBeGreaterThan(0);
    expect(a['1h']).toBeLessThan(1);
    expect(a['30d']).toBeCloseTo(a['1h'], 2);
    expect(recovered.body.composite30d).toBeCloseTo(a['30d'], 6);
    expect(recovered.body.slos).toEqual([]);
  });

  it('marks an instance DOWN at once when it reports down, and keeps a degraded one UP with its status', async () => {
    const service = unique();
    await agent.post('/api/v1/heartbeats', { heartbeats: [{ service, instance: 'd-1' }, { service, instance: 'd-2' }] });
    await until(() => instances(service), (l) => l.filter((i) => i.state === 'UP').length === 2, 10_000);
    await agent.post('/api/v1/heartbeats', { heartbeats: [{ service, instance: 'd-1', status: 'down' }, { service, instance: 'd-2', status: 'degraded' }] });
    const list = await until(() => instances(service), (l) => l.find((i) => i.id === 'd-1')?.state === 'DOWN', 10_000);
    expect(list.find((i) => i.id === 'd-1')).toMatchObject({ state: 'DOWN', reason: 'the instance reported itself down' });
    expect(list.find((i) => i.id === 'd-2')).toMatchObject({ state: 'UP', status: 'degraded' });
    const svc = await until(() => admin.get(`/api/v1/services/${service}`), (r) => r.body.state === 'DEGRADED', 10_000);
    expect(svc.body.canLose).toBe(0);
  });

  it('discovers healthy instances and resolves round-robin, same zone first, 503 when none is healthy', async () => {
    const service = unique();
    await agent.post('/api/v1/heartbeats', {
      heartbeats: [
        { service, instance: 'e-1', address: '10.1.0.1', zone: 'z1' },
        { service, instance: 'e-2', address: '10.1.0.2', zone: 'z2' },
        { service, instance: 'e-3', address: '10.1.0.3', zone: 'z2' },
      ],
    });
    await until(() => agent.get(`/api/v1/discovery/${service}`), (r) => r.body.items?.length === 3, 10_000);

    const picks = [];
    for (let i = 0; i < 4; i++) picks.push((await agent.get(`/api/v1/discovery/${service}/resolve?zone=z2`)).body.id);
    expect(new Set(picks)).toEqual(new Set(['e-2', 'e-3']));
    expect(picks[0]).not.toBe(picks[1]);
    expect((await agent.get(`/api/v1/discovery/${service}/resolve?zone=z9`)).status).toBe(200);

    await agent.post('/api/v1/heartbeats', { heartbeats: ['e-1', 'e-2', 'e-3'].map((instance) => ({ service, instance, status: 'down' })) });
    await until(() => agent.get(`/api/v1/discovery/${service}`), (r) => r.body.items?.length === 0, 10_000);
    const none = await agent.get(`/api/v1/discovery/${service}/resolve`);
    expect(none.status).toBe(503);
    expect(none.headers.get('retry-after')).toBeTruthy();
    expect(none.body.message).toBe(`service ${service} has no healthy instance`);
    expect((await agent.get(`/api/v1/discovery/${service}?all=true`)).body.items).toHaveLength(3);
    expect((await agent.get('/api/v1/discovery/no-such-service')).status).toBe(404);
  });

  it('deregisters an instance: it leaves discovery and the registry', async () => {
    const service = unique();
    const registered = await agent.post(`/api/v1/services/${service}/instances`, { id: 'f-1', address: '10.2.0.1', port: 8080, meta: { version: '1.2.3' } });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ id: 'f-1', state: 'UNKNOWN', meta: { version: '1.2.3' } });
    await agent.post('/api/v1/heartbeats', { service, instance: 'f-1' });
    await until(() => stateOf(service, 'f-1'), (i) => i?.state === 'UP', 10_000);
    // Discovery returns what it was registered with, heartbeats notwithstanding.
    expect((await agent.get(`/api/v1/discovery/${service}`)).body.items).toMatchObject([{ id: 'f-1', address: '10.2.0.1', port: 8080, meta: { version: '1.2.3' } }]);
    const bad = await agent.post(`/api/v1/services/${service}/instances`, { id: 'f-2', address: '10.2.0.2', meta: { n: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(['meta must map names to strings (at most 64 entries, values up to 512 characters)']);
    expect((await agent.delete(`/api/v1/services/${service}/instances/f-1`)).status).toBe(204);
    expect(await instances(service)).toEqual([]);
    expect((await db.query('SELECT 1 FROM instances i JOIN services s ON s.id = i.service_id WHERE s.name = $1', [service])).rowCount).toBe(0);
    expect((await agent.delete(`/api/v1/services/${service}/instances/f-1`)).status).toBe(404);
  });

  it('does not lose a heartbeat acknowledged just before the api is killed', async () => {
    const service = unique();
    const res = await agent.post('/api/v1/heartbeats', { service, instance: 'g-1' });
    expect(res.status).toBe(202);
    await api.kill();
    api = stack.api = await startApi({ env: stack.env });
    admin = new HttpClient(api.url, adminKey);
    agent = admin.withKey(agentKey);
    await until(
      () => db.query('SELECT count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = $1', [service]),
      (r) => r.rows[0].n === 1,
      10_000,
    );
  });

  it('pushes instance.state and service.state over socket.io', async () => {
    const service = unique();
    const socket: Socket = io(api.url, { path: '/ws', auth: { token: adminKey }, transports: ['websocket'] });
    const events: { event: string; payload: Record<string, unknown> }[] = [];
    socket.onAny((event: string, payload: Record<string, unknown>) => events.push({ event, payload }));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      await agent.post('/api/v1/heartbeats', { service, instance: 'h-1', zone: 'z1' });
      await until(async () => events, (e) => e.some((x) => x.event === 'service.state' && x.payload.name === service), 10_000);
      const inst = events.find((e) => e.event === 'instance.state' && e.payload.service === service);
      expect(inst?.payload).toMatchObject({ service, id: 'h-1', from: 'UNKNOWN', state: 'UP', zone: 'z1', reason: 'first heartbeat' });
      expect(typeof inst?.payload.at).toBe('string');
      const svc = events.find((e) => e.event === 'service.state' && e.payload.name === service);
      expect(svc?.payload).toMatchObject({ name: service, from: 'UNKNOWN', state: 'UP' });
    } finally {
      socket.close();
    }

    // No key, no events.
    const anonymous = io(api.url, { path: '/ws', transports: ['websocket'], reconnection: false });
    const refused = await new Promise<unknown>((resolve) => {
      anonymous.once('error', resolve);
      anonymous.once('disconnect', () => resolve('disconnected'));
    });
    anonymous.close();
    expect(refused).toBeTruthy();
  });

  it('enforces roles: agents report and discover; only admins declare services', async () => {
    expect((await agent.post('/api/v1/services', { name: unique() })).status).toBe(403);
    expect((await admin.withKey('nf_nope').post('/api/v1/heartbeats', { service: 'x', instance: 'y' })).status).toBe(401);
    const declared = await admin.post('/api/v1/services', { name: unique(), quorum: 'majority', survivalGoal: 'zone', dependsOn: [['postgres']] });
    expect(declared.status).toBe(201);
    expect(declared.body).toMatchObject({ quorum: 'majority', survivalGoal: 'zone', survivalGoalMet: false, selfRegistered: false, state: 'UNKNOWN' });
    const again = await admin.post('/api/v1/services', { name: declared.body.name, quorum: 'bft' });
    expect(again.status).toBe(200);
    expect(again.body.quorum).toBe('bft');
    const bad = await admin.post('/api/v1/services', { name: 'Bad Name', quorum: 'most' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(expect.arrayContaining([expect.stringMatching(/^name must match/), 'quorum must be one of any, majority, bft']));
  });
});
