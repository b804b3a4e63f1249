import { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * Maintenance windows against the real api and worker: an outage inside one
 * is left out of availability and of availability SLO budgets; one outside
 * counts; windows can be ended, removed and recorded afterwards.
 */
describe('maintenance windows (e2e)', () => {
  let stack: Stack;
  let agent: HttpClient;
  let viewer: HttpClient;

  beforeAll(async () => {
    stack = await startStack();
    ({ http: agent } = await stack.client('agent'));
    ({ http: viewer } = await stack.client('viewer'));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const beat = (status: 'up' | 'down') => agent.post('/api/v1/heartbeats', { service: 'vault', instance: 'vault-1', status, intervalSeconds: 60 });
  const stateIs = (state: string) => until(() => stack.admin.get('/api/v1/services/vault'), (r) => r.body?.state === state, 10_000);
  const outage = async () => {
    expect((await beat('down')).status).toBe(202);
    await stateIs('DOWN');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await beat('up')).status).toBe(202);
    await stateIs('UP');
  };

  it('leaves an outage during maintenance out of availability and the SLO budget, and counts one after it', async () => {
    expect((await beat('up')).status).toBe(202);
    await stateIs('UP');
    const slo = await stack.admin.post('/api/v1/slos', { service: 'vault', name: 'availability', objective: 0.999, sli: { type: 'availability' } });
    expect(slo.status).toBe(201);

    const created = await stack.admin.post('/api/v1/services/vault/maintenance', { durationMinutes: 60, reason: 'PostgreSQL upgrade' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ service: 'vault', reason: 'PostgreSQL upgrade', active: true });
    expect(Date.parse(created.body.to) - Date.parse(created.body.from)).toBe(3_600_000);
    expect((await viewer.get('/api/v1/services/vault')).body.maintenance).toEqual({ id: created.body.id, from: created.body.from, to: created.body.to, reason: 'PostgreSQL upgrade' });

    await outage();
    const during = (await viewer.get('/api/v1/services/vault')).body;
    expect(during.availability['1h']).toBe(1);
    expect(during.availability['90d']).toBe(1);
    // The service's maintenance holds for its instances too.
    expect(during.instances[0].availability).toMatchObject({ '1h': 1, '90d': 1 });
    expect((await viewer.get(`/api/v1/slos/${slo.body.id}`)).body.errorBudget.consumed).toBe(0);

    // Ended now: the time so far stays maintenance.
    expect((await stack.admin.delete(`/api/v1/services/vault/maintenance/${created.body.id}`)).status).toBe(204);
    const list = (await viewer.get('/api/v1/services/vault/maintenance')).body.items;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: created.body.id, active: false });
    expect(Date.parse(list[0].to)).toBeLessThan(Date.parse(created.body.to));
    expect((await viewer.get('/api/v1/services/vault')).body.maintenance).toBeNull();

    await outage();
    const history = (await viewer.get('/api/v1/services/vault/history')).body.items.filter((h: { kind: string }) => h.kind === 'service');
    const downAt = Date.parse(history.find((h: { to: string }) => h.to === 'DOWN').at);
    const upAt = Date.parse(history.find((h: { from: string; to: string }) => h.from === 'DOWN' && h.to === 'UP').at);
    const after = (await viewer.get(`/api/v1/slos/${slo.body.id}`)).body;
    expect(after.errorBudget.consumed).toBeCloseTo((upAt - downAt) / 1000, 6);
    const counted = (await viewer.get('/api/v1/services/vault')).body;
    expect(counted.availability['1h']).toBeLessThan(1);
    expect(counted.instances[0].availability['1h']).toBeLessThan(1);

    // Recorded afterwards, over the second outage: it no longer counts.
    await until(async () => Date.now(), (t) => t > upAt + 50, 5000);
    const recorded = await stack.admin.post('/api/v1/services/vault/maintenance', { from: new Date(downAt - 1000).toISOString(), to: new Date(upAt + 1).toISOString(), reason: 'failover drill' });
    expect(recorded.status).toBe(201);
    expect(recorded.body.active).toBe(false);
    expect((await viewer.get(`/api/v1/slos/${slo.body.id}`)).body.errorBudget.consumed).toBe(0);
    // Removed again: it counts again.
    expect((await stack.admin.delete(`/api/v1/services/vault/maintenance/${recorded.body.id}`)).status).toBe(204);
    expect((await viewer.get(`/api/v1/slos/${slo.body.id}`)).body.errorBudget.consumed).toBeCloseTo((upAt - downAt) / 1000, 6);
  });

  it("counts an instance's outage in its own availability, exactly, while its service serves on", async () => {
    const beatAs = (instance: string, status: 'up' | 'down') => agent.post('/api/v1/heartbeats', { service: 'ledger', instance, status, intervalSeconds: 60 });
    const instanceIs = (instance: string, state: string) =>
      until(() => viewer.get('/api/v1/services/ledger'), (r) => r.body?.instances?.find((i: { id: string }) => i.id === instance)?.state === state, 10_000);
    expect((await beatAs('ledger-1', 'up')).status).toBe(202);
    expect((await beatAs('ledger-2', 'up')).status).toBe(202);
    await instanceIs('ledger-2', 'UP');
    expect((await beatAs('ledger-2', 'down')).status).toBe(202);
    await instanceIs('ledger-2', 'DOWN');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await beatAs('ledger-2', 'up')).status).toBe(202);
    await instanceIs('ledger-2', 'UP');

    // The history is recorded behind live state: wait until it has the change back UP.
    const history = await until(
      () => viewer.get('/api/v1/services/ledger/history'),
      (r) => r.body?.items?.some((h: { instance: string | null; from: string; to: string }) => h.instance === 'ledger-2' && h.from === 'DOWN' && h.to === 'UP'),
      10_000,
    );
    const changes = history.body.items.filter((h: { instance: string | null }) => h.instance === 'ledger-2');
    const at = (from: string, to: string) => Date.parse(changes.find((h: { from: string; to: string }) => h.from === from && h.to === to).at);
    const firstUp = at('UNKNOWN', 'UP');
    const down = at('UP', 'DOWN');
    const up = at('DOWN', 'UP');
    const before = Date.now();
    const view = (await viewer.get('/api/v1/services/ledger')).body;
    const after = Date.now();
    // Known since its first heartbeat up to the moment of the answer (somewhere in [before, after]); DOWN for exactly the outage.
    const a = view.instances.find((i: { id: string }) => i.id === 'ledger-2').availability;
    for (const w of ['1h', '24h', '7d', '30d', '90d']) {
      expect(a[w]).toBeGreaterThanOrEqual(1 - (up - down) / (before - firstUp) - 1e-9);
      expect(a[w]).toBeLessThanOrEqual(1 - (up - down) / (after - firstUp) + 1e-9);
    }
    expect(view.instances.find((i: { id: string }) => i.id === 'ledger-1').availability['1h']).toBe(1);
    // One instance on its own, as a viewer reads it; unknown ones are 404.
    const one = await viewer.get('/api/v1/services/ledger/instances/ledger-2');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: 'ledger-2', service: 'ledger', state: 'UP' });
    expect(one.body.availability['30d']).toBeGreaterThanOrEqual(a['30d']);
    expect(one.body.availability['30d']).toBeLessThan(1);
    expect((await viewer.get('/api/v1/services/ledger/instances/ledger-9')).status).toBe(404);
    expect((await viewer.get('/api/v1/services/nowhere/instances/ledger-2')).status).toBe(404);
    // One of two instances down: the service was DEGRADED at worst (it served), so its own availability is whole.
    expect(view.availability['1h']).toBe(1);
    // The list of services gives it too (a moment later: a little more time known).
    const list = (await viewer.get('/api/v1/services?limit=100')).body;
    const listed = list.items.find((s: { name: string }) => s.name === 'ledger').instances.find((i: { id: string }) => i.id === 'ledger-2').availability;
    expect(listed['30d']).toBeGreaterThanOrEqual(a['30d']);
    expect(listed['30d']).toBeLessThan(1);
  });

  it('says what is wrong with a window', async () => {
    const now = Date.now();
    const cases: [Record<string, unknown>, string][] = [
      [{ durationMinutes: 30, to: new Date(now + 3_600_000).toISOString() }, 'give either to or durationMinutes'],
      [{ reason: 'no end' }, 'give either to or durationMinutes'],
      [{ from: new Date(now).toISOString(), to: new Date(now - 60_000).toISOString() }, 'to must be after from'],
      [{ from: new Date(now - 100 * 86_400_000).toISOString(), durationMinutes: 10 }, 'from may be at most 90 days ago'],
      [{ durationMinutes: 0 }, 'durationMinutes must be a whole number of minutes from 1 to 44640 (31 days)'],
      [{ from: 'tonight', durationMinutes: 10 }, 'from must be an ISO 8601 time'],
      [{ from: new Date(now).toISOString(), to: new Date(now + 40 * 86_400_000).toISOString() }, 'a maintenance window lasts at most 31 days'],
    ];
    for (const [body, message] of cases) {
      const res = await stack.admin.post('/api/v1/services/vault/maintenance', body);
      expect(res.status).toBe(400);
      expect(res.body.message.join('\n')).toContain(message);
    }
    expect((await stack.admin.post('/api/v1/services/nowhere/maintenance', { durationMinutes: 5 })).status).toBe(404);
    expect((await viewer.post('/api/v1/services/vault/maintenance', { durationMinutes: 5 })).status).toBe(403);
    expect((await stack.admin.delete('/api/v1/services/vault/maintenance/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await stack.admin.delete('/api/v1/services/vault/maintenance/not-an-id')).status).toBe(404);
    // Nothing of the rejected ones was stored.
    expect((await viewer.get('/api/v1/services/vault/maintenance')).body.items).toHaveLength(1);
  });
});
