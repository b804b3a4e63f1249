import type { TestDatabase } from '../../../test/support/database.js';
import { HttpClient } from '../../../test/support/http.js';
import { freePort, type NinefoldProcess, startAgent } from '../../../test/support/processes.js';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { TcpProxy } from '../../../test/support/tcp-proxy.js';
import { until } from '../../../test/support/until.js';

interface GossipStatus {
  gossip: { enabled: boolean; members: { id: string; state: string; reachesControlPlane: boolean }[]; relayedThroughPeers: number; relayedForPeers: number };
}

/**
 * Five real agents in one gossip group against the real control plane. One
 * loses its route to the control plane: its heartbeats reach it through a
 * peer (marked `via`), so its instance stays UP; one is killed: the group
 * sees it dead and the control plane takes its instance DOWN.
 */
describe('agents gossiping in a group (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let admin: HttpClient;
  let agentKey: string;
  let proxy: TcpProxy;
  const agents: { id: string; proc: NinefoldProcess; intake: HttpClient }[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: { LEADER_LEASE_MS: '2000' } });
    ({ db, admin } = stack);
    ({ key: agentKey } = await stack.client('agent'));
    const proxied = await TcpProxy.for(stack.api.url);
    proxy = proxied.proxy;
    const gossipPorts = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    const seeds = gossipPorts.slice(0, 2).map((p) => `127.0.0.1:${p}`).join(',');
    await Promise.all(
      [1, 2, 3, 4, 5].map(async (n, i) => {
        const intakePort = await freePort();
        const id = `g-${n}`;
        // g-4 reaches the control plane through a proxy the test cuts.
        const url = n === 4 ? proxied.url : stack.api.url;
        const proc = await startAgent({
          args: ['run', '--url', url, '--instance', id, '--service', 'gossip-web', '--interval', '1', '--intake-port', String(intakePort), '--gossip-host', '127.0.0.1', '--gossip-port', String(gossipPorts[i]), '--peers', seeds],
          env: { NINEFOLD_KEY: agentKey },
        });
        agents.push({ id, proc, intake: new HttpClient(`http://127.0.0.1:${intakePort}`) });
      }),
    );
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.proc.kill()));
    await proxy?.close();
    await stack?.stop();
  });

  const agent = (id: string) => agents.find((a) => a.id === id)!;
  const gossipOf = async (id: string) => ((await agent(id).intake.get('/v1/status')).body as GossipStatus).gossip;
  const instances = async () => {
    const r = await admin.get('/api/v1/discovery/gossip-web?all=true');
    return new Map<string, string>((r.status === 200 ? r.body.items : []).map((i: { id: string; state: string }) => [i.id, i.state]));
  };

  it('forms one group: every agent sees all five alive and reaching the control plane', async () => {
    for (const a of agents) {
      const g = await until(
        () => gossipOf(a.id),
        (s) => s.members.filter((m) => m.state === 'alive' && m.reachesControlPlane).length === 5,
        20_000,
      );
      expect(g.members.map((m) => m.id).sort()).toEqual(['g-1', 'g-2', 'g-3', 'g-4', 'g-5']);
    }
    const up = await until(instances, (m) => [...m.values()].filter((s) => s === 'UP').length === 5, 15_000);
    expect(up.size).toBe(5);
  });

  it('relays the heartbeats of an agent that lost its route to the control plane, so its instance stays UP', async () => {
    await proxy.cut();
    const cutAt = new Date();
    // The others learn that g-4 no longer reaches the control plane.
    await until(() => gossipOf('g-1'), (g) => g.members.some((m) => m.id === 'g-4' && m.reachesControlPlane === false), 20_000);
    // Heartbeats of g-4, received after the cut, relayed by a peer.
    const relayed = await until(
      () =>
        db.query<{ via: string | null; n: number }>(
          "SELECT h.via, count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id WHERE i.name = 'g-4' AND h.received_at > $1 GROUP BY 1",
          [cutAt],
        ),
      (r) => r.rows.some((row) => row.via !== null && row.n >= 5),
      30_000,
    );
    expect(relayed.rows.filter((r) => r.via !== null).every((r) => ['g-1', 'g-2', 'g-3', 'g-5'].includes(r.via!))).toBe(true);
    expect((await gossipOf('g-4')).relayedThroughPeers).toBeGreaterThan(0);
    // Well past its ttl (3 s) and grace (1 s), it is still UP: a broken path is not a dead host.
    expect((await instances()).get('g-4')).toBe('UP');
  });

  it('sees a killed agent dead in every view, and the control plane takes its instance DOWN', async () => {
    await agent('g-5').proc.kill();
    for (const id of ['g-1', 'g-2', 'g-3', 'g-4']) {
      await until(() => gossipOf(id), (g) => g.members.some((m) => m.id === 'g-5' && m.state === 'dead'), 30_000);
      expect((await gossipOf(id)).members.find((m) => m.id === 'g-5')!.state).toBe('dead');
    }
    const down = await until(instances, (m) => m.get('g-5') === 'DOWN', 20_000);
    expect(down.get('g-5')).toBe('DOWN');
    expect(down.get('g-4')).toBe('UP');
  });
});
