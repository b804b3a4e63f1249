import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestDatabase } from '../../../test/support/database.js';
import { HttpClient } from '../../../test/support/http.js';
import { freePort, type NinefoldProcess, runAgent, startAgent, startApi } from '../../../test/support/processes.js';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { until } from '../../../test/support/until.js';

interface AgentStatusJson {
  instance: string;
  push: { queued: number; inFlight: number; sent: number; dropped: number; rejected: number; lastSuccessAt: string | null; consecutiveFailures: number; lastError: string | null };
  services: { name: string; status: string; lastHeartbeatAt: string | null }[];
  prober: { enabled: boolean; answered?: number };
}

/**
 * The real ninefold-agent (dist/apps/agent/main.js, as users run it) against
 * the real control plane: registration, application reports arriving as
 * metrics, a control-plane outage buffered and delivered in order without
 * duplicates, prober mode, configuration errors and SIGTERM.
 */
describe('ninefold-agent (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let admin: HttpClient;
  let agentKey: string;
  const agents: NinefoldProcess[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: { LEADER_LEASE_MS: '2000' } });
    ({ db, admin } = stack);
    ({ key: agentKey } = await stack.client('agent'));
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await stack?.stop();
  });

  async function agent(args: string[], env: Record<string, string> = {}): Promise<{ proc: NinefoldProcess; intake: HttpClient; port: number }> {
    const port = await freePort();
    const proc = await startAgent({ args: ['run', '--url', stack.api.url, '--intake-port', String(port), ...args], env: { NINEFOLD_KEY: agentKey, ...env } });
    agents.push(proc);
    return { proc, intake: new HttpClient(`http://127.0.0.1:${port}`), port };
  }

  async function statusOf(intake: HttpClient): Promise<AgentStatusJson> {
    return (await intake.get('/v1/status')).body as AgentStatusJson;
  }

  async function heartbeatRows(service: string, instance: string): Promise<{ id: string; sent_at: Date | null }[]> {
    const r = await db.query<{ id: string; sent_at: Date | null }>(
      'SELECT h.id::text AS id, h.sent_at FROM heartbeats h JOIN instances i ON i.id = h.instance_id JOIN services s ON s.id = i.service_id WHERE s.name = $1 AND i.name = $2 ORDER BY h.id',
      [service, instance],
    );
    return r.rows;
  }

  it('registers its instance with its first heartbeat and reports status', async () => {
    const { intake, port } = await agent(['--instance', 'host-a', '--service', 'agent-web:8080', '--zone', 'eu-1a', '--address', '127.0.0.1', '--interval', '1']);
    const found = await until(
      () => admin.get('/api/v1/discovery/agent-web?all=true'),
      (r) => r.status === 200 && r.body.items.some((i: { id: string; state: string }) => i.id === 'host-a' && i.state === 'UP'),
      15_000,
    );
    expect(found.body.items.find((i: { id: string }) => i.id === 'host-a')).toMatchObject({ zone: 'eu-1a', address: '127.0.0.1', port: 8080 });

    expect((await intake.get('/healthz')).status).toBe(200);
    const st = await until(() => statusOf(intake), (s) => s.push.sent > 0, 10_000);
    expect(st).toMatchObject({ instance: 'host-a', push: { dropped: 0, rejected: 0, consecutiveFailures: 0 } });
    expect(st.push.lastSuccessAt).not.toBeNull();

    // The Agents page's "last seen" follows its heartbeats (every second here), not only its once-a-minute report.
    const agents = await until(
      () => admin.get('/api/v1/agents'),
      (r) => r.body.items?.some((a: { instance: string; lastHeartbeatAt: string | null }) => a.instance === 'host-a' && a.lastHeartbeatAt !== null && Date.parse(a.lastHeartbeatAt) > Date.now() - 3000),
      15_000,
    );
    const me = agents.body.items.find((a: { instance: string }) => a.instance === 'host-a');
    expect(Date.parse(me.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(me.lastReportAt));
    expect(me.lastSeenAt).toBe(me.lastHeartbeatAt > me.lastReportAt ? me.lastHeartbeatAt : me.lastReportAt);
    expect(me.connected).toBe(true);

    // The status command finds the agent on its local port.
    const cmd = await runAgent(['status', '--intake-port', String(port)]);
    expect(cmd.code).toBe(0);
    expect(cmd.stdout).toMatch(/instance host-a/);
    expect(cmd.stdout).toMatch(/last push\s+\d{4}-/);
    expect(cmd.stdout).toMatch(/0 dropped/);

    // It reports itself to the agents registry (the dashboard's Agents page).
    const listed = await until(() => admin.get('/api/v1/agents'), (r) => r.body.items?.some((a: { instance: string }) => a.instance === 'host-a'), 10_000);
    expect(listed.body.items.find((a: { instance: string }) => a.instance === 'host-a')).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      services: ['agent-web'],
      prober: false,
      zone: 'eu-1a',
      connected: true,
      queue: { dropped: 0, rejected: 0 },
    });
    const bad = await admin.withKey(agentKey).put('/api/v1/agents/host-a', { version: '1', services: ['Bad Name'], prober: 'yes' });
    expect(bad.status).toBe(400);
  });

  it('turns application reports on its local intake into the heartbeat metrics the control plane stores', async () => {
    const { intake } = await agent(['--instance', 'host-b', '--service', 'agent-shop', '--interval', '1']);
    const calls = [
      ...Array.from({ length: 7 }, () => ({ dependency: 'payments', ok: true, durationMs: 20 })),
      ...Array.from({ length: 3 }, () => ({ dependency: 'payments', ok: false, durationMs: 250 })),
      { dependency: 'db:5432', calls: 40, failures: 1, slowCalls: 2 },
    ];
    const res = await intake.post('/v1/calls', { calls });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ recorded: 11 });
    // 90 of the 100 measured, 80 of them within 100 ms (cumulative buckets, as heartbeats carry them).
    expect((await intake.post('/v1/requests', { total: 100, errors: 4, slow: 6, latencyMs: { '100': 80, '+Inf': 90 } })).status).toBe(202);
    expect((await intake.post('/v1/requests', { ok: false, durationMs: 5 })).status).toBe(202);

    const bad = await intake.post('/v1/calls', { calls: [{ dependency: 'payments', ok: 'yes' }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('calls[0].ok must be true or false');

    const deps = await until(
      () =>
        db.query<{ dependency: string; calls: string; failures: string; slow_calls: string }>(
          "SELECT d.dependency, sum(d.calls)::text AS calls, sum(d.failures)::text AS failures, sum(d.slow_calls)::text AS slow_calls FROM dependency_rollups d JOIN services s ON s.id = d.service_id WHERE s.name = 'agent-shop' GROUP BY 1 ORDER BY 1",
        ),
      (r) => r.rows.length === 2,
      20_000,
    );
    expect(deps.rows).toEqual([
      { dependency: 'db:5432', calls: '40', failures: '1', slow_calls: '2' },
      { dependency: 'payments', calls: '10', failures: '3', slow_calls: '3' },
    ]);
    const reqs = await until(
      () => db.query<{ total: string; errors: string; slow: string }>("SELECT sum(r.total)::text AS total, sum(r.errors)::text AS errors, sum(r.slow)::text AS slow FROM request_rollups r JOIN services s ON s.id = r.service_id WHERE s.name = 'agent-shop'"),
      (r) => r.rows[0].total === '101',
      20_000,
    );
    expect(reqs.rows[0]).toEqual({ total: '101', errors: '5', slow: '6' });
    // The request that took 5 ms is in the 5 ms bucket (the agent's default bounds); latency SLOs read these.
    const latency = await db.query<{ measured: string; within5: string; within100: string }>(
      `SELECT sum(r.latency_total)::text AS measured, sum(ninefold_latency_within(r.latency, 5))::text AS within5, sum(ninefold_latency_within(r.latency, 100))::text AS within100
         FROM request_rollups r JOIN services s ON s.id = r.service_id WHERE s.name = 'agent-shop'`,
    );
    expect(latency.rows[0]).toEqual({ measured: '91', within5: '1', within100: '81' });
  });

  it('buffers heartbeats while the control plane is down for 20 s and delivers every one, in order, without duplicates', async () => {
    const { proc, intake } = await agent(['--instance', 'host-c', '--service', 'agent-buffered', '--interval', '1']);
    await until(() => statusOf(intake), (s) => s.push.sent >= 2, 15_000);

    const port = new URL(stack.api.url).port;
    await stack.api.stop();
    const downAt = Date.now();
    await until(() => statusOf(intake), (s) => s.push.consecutiveFailures > 0, 10_000);
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - downAt))));
    const during = await statusOf(intake);
    expect(during.push.queued + during.push.inFlight).toBeGreaterThanOrEqual(15);

    stack.api = await startApi({ env: { ...stack.env, PORT: port } });
    const after = await until(() => statusOf(intake), (s) => s.push.queued + s.push.inFlight === 0 && s.push.consecutiveFailures === 0, 60_000);
    expect(after.push.dropped).toBe(0);

    // Stop the agent so the count is final, then compare with what Postgres has.
    await proc.stop();
    expect(await proc.waitForExit()).toEqual({ code: 0, signal: null });
    const stopLine = JSON.parse(proc.output.filter((l) => l.includes('delivered the heartbeats waiting at stop')).pop() ?? '{}') as { delivered?: number; sentSinceStart?: number };
    // Everything was delivered before the stop: the stop delivered only its own last heartbeat.
    expect(stopLine.delivered).toBe(1);
    const finalSent = { sent: stopLine.sentSinceStart };
    const rows = await until(
      () => heartbeatRows('agent-buffered', 'host-c'),
      (r) => r.length >= (finalSent.sent ?? Infinity),
      30_000,
    );
    expect(finalSent.sent).toBeGreaterThan(20);
    expect(rows).toHaveLength(finalSent.sent!);
    const times = rows.map((r) => r.sent_at!.getTime());
    expect(new Set(times).size).toBe(times.length); // no duplicates
    expect(times).toEqual([...times].sort((a, b) => a - b)); // stored in the order they were made
    // The heartbeats made during the outage are among them: the gap of 20 s was filled.
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.max(...gaps)).toBeLessThan(3000);
  });

  it('flushes what it holds on SIGTERM, including what applications reported since the last heartbeat', async () => {
    const { proc, intake } = await agent(['--instance', 'host-d', '--service', 'agent-stopping', '--interval', '30']);
    await until(() => statusOf(intake), (s) => s.push.sent >= 1, 15_000);
    // The next heartbeat is 30 s away: only the one made on the way out can carry this.
    await intake.post('/v1/requests', { total: 5, errors: 1 });
    proc.child.kill('SIGTERM');
    expect(await proc.waitForExit()).toEqual({ code: 0, signal: null });
    expect(proc.log).toMatch(/delivered the heartbeats waiting at stop/);
    const reqs = await until(
      () => db.query<{ total: string | null; errors: string | null }>("SELECT sum(r.total)::text AS total, sum(r.errors)::text AS errors FROM request_rollups r JOIN services s ON s.id = r.service_id WHERE s.name = 'agent-stopping'"),
      (r) => r.rows[0].total === '5',
      20_000,
    );
    expect(reqs.rows[0]).toEqual({ total: '5', errors: '1' });
  });

  it('deregisters on SIGTERM with --deregister-on-exit, and its last heartbeats do not register it again', async () => {
    const { proc } = await agent(['--instance', 'host-e', '--service', 'agent-leaving', '--interval', '1', '--deregister-on-exit']);
    await until(() => admin.get('/api/v1/discovery/agent-leaving?all=true'), (r) => r.status === 200 && r.body.items.length === 1, 15_000);
    proc.child.kill('SIGTERM');
    expect(await proc.waitForExit()).toEqual({ code: 0, signal: null });
    expect(proc.log).toMatch(/deregistered/);
    expect((await admin.get('/api/v1/discovery/agent-leaving?all=true')).body.items).toEqual([]);
    // Its final heartbeat may reach the workers after the deregistration: it must not bring the instance back.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await admin.get('/api/v1/discovery/agent-leaving?all=true')).body.items).toEqual([]);
    expect((await db.query("SELECT 1 FROM instances i JOIN services s ON s.id = i.service_id WHERE s.name = 'agent-leaving'")).rowCount).toBe(0);
  });

  it('answers probe tasks in prober mode', async () => {
    // Something listening for the prober to reach.
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const target = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      const { intake } = await agent(['--instance', 'prober-1', '--prober', '--zone', 'eu-1b']);
      const check = await admin.post('/api/v1/checks', { service: 'agent-probed', instance: 'db-1', type: 'tcp', target, intervalSeconds: 1, timeoutMs: 1000, runOn: 'probers' });
      expect(check.status).toBe(201);
      const ran = await until(() => admin.get(`/api/v1/checks/${check.body.id}`), (r) => r.body.last !== null, 20_000);
      expect(ran.body.last).toMatchObject({ ok: true, ranBy: expect.stringContaining('prober-1') });
      expect((await statusOf(intake)).prober).toMatchObject({ enabled: true });
      expect((await statusOf(intake)).prober.answered).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });

  it('reports the result of its local checks as the heartbeat status', async () => {
    const healthy = net.createServer((s) => s.end());
    await new Promise<void>((r) => healthy.listen(0, '127.0.0.1', () => r()));
    const closedPort = await freePort(); // nothing listens there
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-agent-checks-'));
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(
      file,
      [
        `url: ${stack.api.url}`,
        'instance: host-f',
        'services:',
        '  - name: agent-checked',
        '    intervalSeconds: 1',
        '    checks:',
        `      - { type: tcp, target: "127.0.0.1:${(healthy.address() as net.AddressInfo).port}" }`,
        '  - name: agent-degraded',
        '    intervalSeconds: 1',
        '    checks:',
        `      - { type: tcp, target: "127.0.0.1:${closedPort}", onFail: degraded, timeoutMs: 500 }`,
        '  - name: agent-broken',
        '    intervalSeconds: 1',
        '    checks:',
        `      - { type: http, target: "http://127.0.0.1:${closedPort}/healthz", timeoutMs: 500 }`,
        '',
      ].join('\n'),
    );
    try {
      const port = await freePort();
      const proc = await startAgent({ args: ['run', '--config', file, '--intake-port', String(port)], env: { NINEFOLD_KEY: agentKey } });
      agents.push(proc);
      const stateOf = async (service: string) => ((await admin.get(`/api/v1/discovery/${service}?all=true`)).body.items?.[0] ?? {}) as { state?: string; status?: string };
      expect(await until(() => stateOf('agent-checked'), (i) => i.state === 'UP', 15_000)).toMatchObject({ state: 'UP', status: 'up' });
      expect(await until(() => stateOf('agent-degraded'), (i) => i.status === 'degraded', 15_000)).toMatchObject({ state: 'UP', status: 'degraded' });
      expect(await until(() => stateOf('agent-broken'), (i) => i.state === 'DOWN', 15_000)).toMatchObject({ state: 'DOWN', status: 'down' });
      const st = await statusOf(new HttpClient(`http://127.0.0.1:${port}`));
      expect(st.services.find((s) => s.name === 'agent-broken')).toMatchObject({ status: 'down' });
    } finally {
      healthy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks a service given by flags (--check), and the instance it puts DOWN says why', async () => {
    const closedPort = await freePort(); // nothing listens there
    const target = `http://127.0.0.1:${closedPort}/`;
    await agent(['--instance', 'host-q', '--service', `agent-quick:${closedPort}`, '--check', target, '--interval', '1']);
    const instance = await until(
      () => admin.get('/api/v1/services/agent-quick/instances/host-q'),
      (r) => r.status === 200 && r.body.state === 'DOWN',
      15_000,
    );
    expect(instance.body.reason).toBe(`the instance reported itself down: ${target}: ECONNREFUSED`);
    const history = await admin.get('/api/v1/services/agent-quick/history');
    expect(history.body.items.some((c: { to: string; reason: string }) => c.to === 'DOWN' && c.reason.includes(`${target}: ECONNREFUSED`))).toBe(true);
  });

  it('answers an unknown flag in one line with the closest valid one, and exits 64', async () => {
    const res = await runAgent(['--control-plane', 'http://127.0.0.1:1', '--service', 'web']);
    expect(res.code).toBe(64);
    expect(res.stderr.trim()).toBe('ninefold-agent: unknown flag --control-plane; did you mean --url? (ninefold-agent help lists every flag)');
  });

  it('says clearly when its key is refused, keeps the heartbeats and does not retry in a tight loop', async () => {
    const { proc, intake } = await agent(['--instance', 'host-g', '--service', 'agent-refused', '--interval', '1'], { NINEFOLD_KEY: 'nf_not_a_real_key' });
    const st = await until(() => statusOf(intake), (s) => s.push.lastError !== null, 10_000);
    expect(st.push.lastError).toMatch(/^401/);
    await new Promise((r) => setTimeout(r, 3000));
    const later = await statusOf(intake);
    // One attempt, then one a minute: three seconds later it has not tried again, and kept what it made.
    expect(later.push.consecutiveFailures).toBe(1);
    expect(later.push.queued + later.push.inFlight).toBeGreaterThanOrEqual(3);
    const refusals = proc.logs().filter((l) => String(l.msg).includes("refuses this agent's API key"));
    expect(refusals).toHaveLength(1);
    expect(String(refusals[0].msg)).toMatch(/check NINEFOLD_KEY/);
  });

  it('explains a bad configuration and exits 78 without starting', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-agent-'));
    const file = path.join(dir, 'agent.yaml');
    fs.writeFileSync(file, ['url: ninefold.example.com', 'services:', '  - name: Web', '    intervallSeconds: 5', ''].join('\n'));
    const res = await runAgent(['run', '--config', file], { NINEFOLD_KEY: 'nf_x' });
    expect(res.code).toBe(78);
    expect(res.stderr).toContain('url (config file): must be an http:// or https:// URL');
    expect(res.stderr).toContain('services[0].name (config file): "Web" is not a valid name');
    expect(res.stderr).toContain('did you mean services[0].intervalSeconds?');
    const check = await runAgent(['check-config', '--url', 'http://127.0.0.1:1', '--service', 'web'], { NINEFOLD_KEY: 'nf_x' });
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('configuration is valid');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records a recovery point, and exits non-zero when it cannot', async () => {
    await admin.post('/api/v1/services', { name: 'agent-db' });
    const ok = await runAgent(['recovery-point', '--service', 'agent-db', '--location', 's3://backups/agent-db/1.dump', '--url', stack.api.url], { NINEFOLD_KEY: agentKey });
    expect(ok.code).toBe(0);
    const list = await admin.get('/api/v1/recovery-points?service=agent-db');
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ service: 'agent-db', location: 's3://backups/agent-db/1.dump' });

    const unknown = await runAgent(['recovery-point', '--service', 'no-such-db', '--url', stack.api.url], { NINEFOLD_KEY: agentKey });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not recorded: HTTP 404: unknown service no-such-db/);
    const down = await runAgent(['recovery-point', '--service', 'agent-db', '--url', 'http://127.0.0.1:1'], { NINEFOLD_KEY: agentKey });
    expect(down.code).toBe(69);
  });
});
