import { HttpClient } from '../../../test/support/http.js';
import { freePort, type NinefoldProcess, startAgent, startApi, startWorker } from '../../../test/support/processes.js';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { until } from '../../../test/support/until.js';

interface Change {
  at: string;
  kind: 'service' | 'instance';
  instance: string | null;
  from: string;
  to: string;
  reason: string;
}

/**
 * Ninefold's own restart, the way an upgrade does it: the api and the worker
 * stopped together for longer than the instances' ttl + grace (PostgreSQL and
 * Redis keep running), then started again, with real agents heartbeating
 * every second. Its absence must count as its own: no false SUSPECT or DOWN,
 * the agents' buffers back within seconds, and an instance that really died
 * meanwhile still found, within ttl + grace + DETECTOR_RETURN_ALLOWANCE_SECONDS.
 */
describe('a restart of the whole control plane (e2e)', () => {
  let stack: Stack;
  let agentKey: string;
  const agents: NinefoldProcess[] = [];
  const ALLOWANCE_S = 5;

  beforeAll(async () => {
    stack = await startStack({ env: { DETECTOR_RETURN_ALLOWANCE_SECONDS: String(ALLOWANCE_S) } });
    ({ key: agentKey } = await stack.client('agent'));
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.kill()));
    await stack?.stop();
  });

  async function agent(instance: string): Promise<{ proc: NinefoldProcess; intake: HttpClient }> {
    const port = await freePort();
    const proc = await startAgent({ args: ['run', '--url', stack.api.url, '--intake-port', String(port), '--instance', instance, '--service', 'restarted', '--interval', '1'], env: { NINEFOLD_KEY: agentKey } });
    agents.push(proc);
    return { proc, intake: new HttpClient(`http://127.0.0.1:${port}`) };
  }

  const changesOf = async (instance: string): Promise<Change[]> =>
    ((await stack.admin.get('/api/v1/services/restarted/history?limit=100')).body.items as Change[]).filter((c) => c.kind === 'instance' && c.instance === instance);

  it('raises no false SUSPECT or DOWN, gets the buffered heartbeats back within seconds, and still finds the instance that died', async () => {
    const live = await agent('host-live');
    const dead = await agent('host-dead');
    const state = async (id: string) => (await stack.admin.get(`/api/v1/services/restarted/instances/${id}`)).body?.state;
    await until(async () => [await state('host-live'), await state('host-dead')], (s) => s.every((x) => x === 'UP'), 20_000);

    // One host dies just before Ninefold goes away; the other goes on heartbeating into its buffer.
    await dead.proc.kill();
    const port = String(new URL(stack.api.url).port);
    await Promise.all([stack.api.stop(), ...stack.workers.map((w) => w.stop())]);
    // Longer than ttl (3 s) + grace (1 s): without the guard, the first sweep after the restart judges the silence.
    await new Promise((r) => setTimeout(r, 10_000));
    const during = (await live.intake.get('/v1/status')).body as { push: { queued: number; inFlight: number } };
    expect(during.push.queued + during.push.inFlight).toBeGreaterThanOrEqual(8);

    [stack.api, ...stack.workers] = await Promise.all([startApi({ env: { ...stack.env, PORT: port } }), startWorker({ env: stack.env })]);
    const returnedAt = Date.now();

    // The buffer goes out within seconds of the return (the agent asks /healthz about every second while it cannot
    // reach the control plane, then sends within a second), not at the end of a backoff grown to half a minute.
    await until(
      () => live.intake.get('/v1/status'),
      (r) => r.body.push.queued + r.body.push.inFlight === 0 && r.body.push.consecutiveFailures === 0,
      30_000,
    );
    const deliveredAfterMs = Date.now() - returnedAt;
    expect(deliveredAfterMs).toBeLessThan(8_000);

    // The dead host is found: DOWN within ttl + grace + the allowance after the return (and a sweep's slack).
    await until(() => state('host-dead'), (s) => s === 'DOWN', 30_000);
    const down = (await changesOf('host-dead')).find((c) => c.to === 'DOWN');
    expect(down).toBeDefined();
    const downAfterMs = Date.parse(down!.at) - returnedAt;
    expect(downAfterMs).toBeGreaterThan(0);
    expect(downAfterMs).toBeLessThan((3 + 1 + ALLOWANCE_S) * 1000 + 2000);

    // The live host never left UP: its only change is its first heartbeat.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await changesOf('host-live')).map((c) => `${c.from}→${c.to}`)).toEqual(['UNKNOWN→UP']);
    expect(await state('host-live')).toBe('UP');
    expect(stack.workers[0].log).toMatch(/failure detection was not running for \d+\.\ds; extended \d+ deadline\(s\) by that gap and 5s for agents to come back/);
  });

  it('pauses failure detection while no api receives heartbeats, though the workers run on', async () => {
    const live = agents[0];
    expect(live.hasExited).toBe(false);
    const port = String(new URL(stack.api.url).port);
    await stack.api.stop();
    await new Promise((r) => setTimeout(r, 8_000));
    expect(stack.workers[0].log).toMatch(/no api is receiving heartbeats: failure detection is paused until one is back/);
    stack.api = await startApi({ env: { ...stack.env, PORT: port } });
    await until(async () => stack.workers[0].log, (l) => /an api receives heartbeats again: failure detection resumes/.test(l), 10_000);
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await changesOf('host-live')).map((c) => `${c.from}→${c.to}`)).toEqual(['UNKNOWN→UP']);
  });
});
