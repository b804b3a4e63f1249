import { randomBytes } from 'node:crypto';
import type { TestDatabase } from '../../../../test/support/database.js';
import type { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/** Quorum-aware health of consensus clusters, the signals the registry raises, and its housekeeping. */
describe('consensus clusters, signals and deregistration (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let admin: HttpClient;
  const unique = () => `cl-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    stack = await startStack({ env: { CLUSTER_NO_LEADER_SECONDS: '1', CLUSTER_CHURN_MAX: '2', DEREGISTER_AFTER_SECONDS: '1' } });
    ({ db, admin } = stack);
  });

  afterAll(() => stack?.stop());

  const beat = (service: string, instance: string, extra: Record<string, unknown> = {}) => ({ service, instance, intervalSeconds: 60, ...extra });
  const members = ['m-1', 'm-2', 'm-3', 'm-4', 'm-5'];

  async function signals(service: string) {
    const { rows } = await db.query<{ kind: string; severity: string; message: string; resolved_at: Date | null }>(
      'SELECT g.kind, g.severity, g.message, g.resolved_at FROM signals g JOIN services s ON s.id = g.service_id WHERE s.name = $1 ORDER BY g.id',
      [service],
    );
    return rows;
  }

  it('applies the majority rule to a 5-member Raft cluster: 2 down is DEGRADED with canLose 0, 3 down is DOWN (quorum lost)', async () => {
    const service = unique();
    expect((await admin.post('/api/v1/services', { name: service, quorum: 'majority' })).status).toBe(201);
    await admin.post('/api/v1/heartbeats', { heartbeats: members.map((m, i) => beat(service, m, { role: i === 0 ? 'leader' : 'follower', term: 3 })) });
    const healthy = await until(() => admin.get(`/api/v1/services/${service}`), (r) => r.body.state === 'UP' && r.body.leader !== null, 10_000);
    expect(healthy.body).toMatchObject({ canLose: 2, leader: { id: 'm-1', term: 3 } });

    await admin.post('/api/v1/heartbeats', { heartbeats: ['m-4', 'm-5'].map((m) => beat(service, m, { status: 'down' })) });
    const degraded = await until(() => admin.get(`/api/v1/services/${service}`), (r) => r.body.state === 'DEGRADED', 10_000);
    expect(degraded.body.canLose).toBe(0);

    await admin.post('/api/v1/heartbeats', beat(service, 'm-3', { status: 'down' }));
    const down = await until(() => admin.get(`/api/v1/services/${service}`), (r) => r.body.state === 'DOWN', 10_000);
    expect(down.body.stateReason).toMatch(/^quorum lost/);
    expect(down.body.canLose).toBe(0);
  });

  it('raises a split brain when two live members claim leadership in the same term', async () => {
    const service = unique();
    await admin.post('/api/v1/heartbeats', { heartbeats: [beat(service, 'a', { role: 'leader', term: 9 }), beat(service, 'b', { role: 'leader', term: 9 }), beat(service, 'c', { role: 'follower', term: 9 })] });
    const rows = await until(() => signals(service), (r) => r.some((s) => s.kind === 'cluster.split_brain'), 10_000);
    expect(rows.find((s) => s.kind === 'cluster.split_brain')).toMatchObject({ severity: 'critical', message: `${service}: split brain: a and b both claim leadership in term 9` });
    expect((await admin.get(`/api/v1/services/${service}`)).body.leader).toBeNull();
  });

  it('raises "no leader" once a cluster has had none for CLUSTER_NO_LEADER_SECONDS, and resolves it when one is elected', async () => {
    const service = unique();
    await admin.post('/api/v1/heartbeats', { heartbeats: ['a', 'b', 'c'].map((m) => beat(service, m, { role: 'follower', term: 4 })) });
    const raised = await until(() => signals(service), (r) => r.some((s) => s.kind === 'cluster.no_leader'), 10_000);
    expect(raised.find((s) => s.kind === 'cluster.no_leader')).toMatchObject({ severity: 'critical', resolved_at: null });
    await admin.post('/api/v1/heartbeats', beat(service, 'b', { role: 'leader', term: 5 }));
    await until(() => signals(service), (r) => r.find((s) => s.kind === 'cluster.no_leader')?.resolved_at != null, 10_000);
    expect((await admin.get(`/api/v1/services/${service}`)).body.leader).toMatchObject({ id: 'b', term: 5 });
  });

  it('raises leader churn after more than CLUSTER_CHURN_MAX elections in the window', async () => {
    const service = unique();
    for (const [term, leader] of [[1, 'a'], [2, 'b'], [3, 'a'], [4, 'b']] as const) {
      await admin.post('/api/v1/heartbeats', { heartbeats: ['a', 'b'].map((m) => beat(service, m, { role: m === leader ? 'leader' : 'follower', term })) });
      await until(() => admin.get(`/api/v1/services/${service}`), (r) => r.body.leader?.term === term, 10_000);
    }
    const rows = await until(() => signals(service), (r) => r.some((s) => s.kind === 'cluster.leader_churn'), 10_000);
    expect(rows.find((s) => s.kind === 'cluster.leader_churn')?.message).toMatch(/leader churn: 3 elections/);
  });

  it('raises an unmet survival goal: a zone-redundant service with every instance in one zone', async () => {
    const service = unique();
    await admin.post('/api/v1/services', { name: service, survivalGoal: 'zone' });
    await admin.post('/api/v1/heartbeats', { heartbeats: ['a', 'b'].map((m) => beat(service, m, { zone: 'z1', address: `10.9.0.${m === 'a' ? 1 : 2}` })) });
    const rows = await until(() => signals(service), (r) => r.some((s) => s.kind === 'service.survival_goal_unmet'), 10_000);
    expect(rows[0].message).toBe(`${service} cannot lose a zone and keep working (survival goal: zone)`);
    const view = (await admin.get(`/api/v1/services/${service}`)).body;
    expect(view).toMatchObject({ survivalGoalMet: false, survives: { node: true, zone: false, region: false } });

    // A third instance in another zone meets it.
    await admin.post('/api/v1/heartbeats', beat(service, 'c', { zone: 'z2', address: '10.9.0.3' }));
    await until(() => signals(service), (r) => r.find((s) => s.kind === 'service.survival_goal_unmet')?.resolved_at != null, 10_000);
    expect((await admin.get(`/api/v1/services/${service}`)).body).toMatchObject({ survivalGoalMet: true, survives: { zone: true } });
  });

  it('removes self-registered instances DOWN for longer than DEREGISTER_AFTER_SECONDS, but keeps declared ones', async () => {
    const service = unique();
    await admin.post(`/api/v1/services/${service}/instances`, { id: 'declared', address: '10.8.0.1' });
    await admin.post('/api/v1/heartbeats', { heartbeats: [beat(service, 'declared', { status: 'down' }), beat(service, 'self', { status: 'down' })] });
    await until(() => admin.get(`/api/v1/discovery/${service}?all=true`), (r) => r.body.items?.filter((i: { state: string }) => i.state === 'DOWN').length === 2, 10_000);
    const left = await until(
      () => admin.get(`/api/v1/discovery/${service}?all=true`),
      (r) => r.status === 200 && r.body.items.length === 1,
      15_000,
    );
    expect(left.body.items).toMatchObject([{ id: 'declared', state: 'DOWN' }]);
    const { rows } = await db.query('SELECT i.name FROM instances i JOIN services s ON s.id = i.service_id WHERE s.name = $1', [service]);
    expect(rows).toEqual([{ name: 'declared' }]);
    // History is kept.
    const history = await db.query('SELECT count(*)::int AS n FROM instance_transitions t JOIN services s ON s.id = t.service_id WHERE s.name = $1', [service]);
    expect(history.rows[0].n).toBeGreaterThanOrEqual(2);
  });

  it('gives the dashboard its first paint in one answer: totals and a page of services', async () => {
    const res = await admin.get('/api/v1/overview?limit=2');
    expect(res.status).toBe(200);
    const total = Object.values(res.body.totals.services as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(2);
    expect(res.body.totals.openSignals.critical).toBeGreaterThanOrEqual(1); // the split brain raised above
    expect(res.body.items).toHaveLength(2);
    expect(res.body.items[0]).toEqual(
      expect.objectContaining({ name: expect.any(String), state: expect.any(String), instances: expect.objectContaining({ total: expect.any(Number) }), survives: expect.any(Object), budget: null }),
    );
    expect(typeof res.body.nextCursor).toBe('string');
    const next = await admin.get(`/api/v1/overview?limit=2&cursor=${res.body.nextCursor}`);
    expect(next.body.items[0].name > res.body.items[1].name).toBe(true);
    const { http: agentOnly } = await stack.client('agent');
    expect((await agentOnly.get('/api/v1/overview')).status).toBe(403);
  });
});
