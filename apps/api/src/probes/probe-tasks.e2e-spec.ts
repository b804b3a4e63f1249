import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { TestDatabase } from '../../../../test/support/database.js';
import type { HttpClient } from '../../../../test/support/http.js';
import { freePort, type NinefoldProcess } from '../../../../test/support/processes.js';
import { startTestProber, type TestProber } from '../../../../test/support/prober.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * Quorum confirmation: a silent instance is declared DOWN only when a
 * majority of the probers that answered cannot reach it.
 */
describe('quorum confirmation by prober agents (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let api: NinefoldProcess;
  let admin: HttpClient;
  let agent: HttpClient;
  let agentKey: string;
  let listening: net.Server;
  let openPort: number;
  let closedPort: number;
  const probers: TestProber[] = [];
  const unique = () => `svc-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    stack = await startStack({ env: { PROBE_TIMEOUT_MS: '500' } });
    ({ db, api, admin } = stack);
    ({ http: agent, key: agentKey } = await stack.client('agent'));
    listening = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => listening.listen(0, '127.0.0.1', () => r()));
    openPort = (listening.address() as net.AddressInfo).port;
    closedPort = await freePort();
  });

  afterAll(async () => {
    await Promise.all(probers.map((p) => p.stop()));
    listening?.close();
    await stack?.stop();
  });

  async function stateOf(service: string, id: string) {
    const res = await admin.get(`/api/v1/discovery/${service}?all=true`);
    return (res.body.items as { id: string; state: string; reason: string }[] | undefined)?.find((i) => i.id === id);
  }

  /** Registers an instance on 127.0.0.1:port, heartbeats once, and lets it fall silent. */
  async function silentInstance(port: number) {
    const service = unique();
    await agent.post('/api/v1/heartbeats', { service, instance: 'x-1', address: '127.0.0.1', port, intervalSeconds: 1 });
    await until(() => stateOf(service, 'x-1'), (i) => i?.state === 'UP', 10_000);
    return service;
  }

  it('serves an empty long poll after the wait, and refuses results for unknown tasks', async () => {
    const started = Date.now();
    const res = await agent.get('/api/v1/probe-tasks?wait=1&name=idle');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const unknown = await agent.post(`/api/v1/probe-tasks/${crypto.randomUUID()}/result`, { reachable: true, latencyMs: 3 });
    expect(unknown.status).toBe(404);
    expect((await agent.post('/api/v1/probe-tasks/nope/result', { reachable: true, latencyMs: 3 })).status).toBe(400);
    const bad = await agent.post(`/api/v1/probe-tasks/${crypto.randomUUID()}/result`, { reachable: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(expect.arrayContaining(['reachable must be true or false']));
    expect((await agent.get('/api/v1/probe-tasks?wait=99')).status).toBe(400);
  });

  describe('with one prober that reaches and one on a broken path', () => {
    beforeAll(() => {
      probers.push(startTestProber(api.url, agentKey, { name: 'good', zone: 'z1' }));
      probers.push(startTestProber(api.url, agentKey, { name: 'broken', zone: 'z2', broken: true }));
    });

    it('keeps a silent but reachable instance SUSPECT ("heartbeat path broken") instead of DOWN', async () => {
      const service = await silentInstance(openPort);
      const suspect = await until(() => stateOf(service, 'x-1'), (i) => /heartbeat path broken/.test(i?.reason ?? ''), 20_000);
      expect(suspect).toMatchObject({ state: 'SUSPECT' });
      expect(suspect?.reason).toBe('heartbeat path broken; reachable from probers (1 of 2)');
      // It stays there: one broken network path raises no false alarm.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await stateOf(service, 'x-1'))?.state).toBe('SUSPECT');
      const { rows } = await db.query<{ to: string; reason: string }>(
        `SELECT t."to", t.reason FROM instance_transitions t JOIN services s ON s.id = t.service_id WHERE s.name = $1 ORDER BY t.id`,
        [service],
      );
      expect(rows.map((r) => r.to)).toEqual(['UP', 'SUSPECT', 'SUSPECT']);
      expect(rows.some((r) => r.to === 'DOWN')).toBe(false);
    });

    it('declares a silent instance DOWN when a majority of the probers cannot reach it', async () => {
      // The good prober finds the port closed too: 2 of 2 unreachable.
      const service = await silentInstance(closedPort);
      const down = await until(() => stateOf(service, 'x-1'), (i) => i?.state === 'DOWN', 20_000);
      expect(down?.reason).toMatch(/; unreachable from 2 of 2 probers$/);
      expect(probers[0].answered.some((a) => a.target === `127.0.0.1:${closedPort}` && !a.reachable)).toBe(true);
    });
  });
});
