import type { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * Agents in a gossip group send their view of it with their heartbeats
 * (`peers`). When an instance falls silent and no prober can settle it, a
 * majority of its peers still seeing it alive keeps it SUSPECT ("heartbeat
 * path broken") instead of DOWN; once they see it dead, it goes DOWN.
 */
describe('gossip views as evidence for a silent instance (e2e)', () => {
  let stack: Stack;
  let agent: HttpClient;

  beforeAll(async () => {
    stack = await startStack({ env: { LEADER_LEASE_MS: '2000' } });
    ({ http: agent } = await stack.client('agent'));
  });

  afterAll(() => stack?.stop());

  it('holds a silent instance at SUSPECT while its peers see it alive, and takes it DOWN when they see it dead', async () => {
    const service = 'gossip-evidence';
    let view: { alive: string[]; dead: string[] } = { alive: ['x'], dead: [] };
    let xSilent = false;
    let running = true;
    const beat = async () => {
      const heartbeats = [
        { service, instance: 'y', intervalSeconds: 1, peers: { alive: [...view.alive, 'z'], dead: view.dead } },
        { service, instance: 'z', intervalSeconds: 1, peers: { alive: [...view.alive, 'y'], dead: view.dead } },
        ...(xSilent ? [] : [{ service, instance: 'x', intervalSeconds: 1 }]),
      ];
      const res = await agent.post('/api/v1/heartbeats', { heartbeats });
      expect(res.status).toBe(202);
    };
    const loop = (async () => {
      while (running) {
        await beat();
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    try {
      const stateOf = async () => ((await agent.get(`/api/v1/discovery/${service}?all=true`)).body.items ?? []).find((i: { id: string }) => i.id === 'x') as { state: string; reason: string | null; partitioned: boolean } | undefined;
      await until(stateOf, (x) => x?.state === 'UP', 10_000);

      xSilent = true;
      // ttl 3 s + grace 1 s, then its peers' word keeps it from DOWN.
      const held = await until(stateOf, (x) => x?.partitioned === true, 15_000);
      expect(held).toMatchObject({ state: 'SUSPECT', partitioned: true, reason: 'heartbeat path broken; alive according to its gossip peers (2 of 2)' });
      await new Promise((r) => setTimeout(r, 4000));
      expect((await stateOf())?.state).toBe('SUSPECT');

      view = { alive: [], dead: ['x'] };
      const down = await until(stateOf, (x) => x?.state === 'DOWN', 15_000);
      expect(down?.state).toBe('DOWN');
    } finally {
      running = false;
      await loop;
    }
  });

  it('rejects a malformed view with a 400 naming it', async () => {
    const res = await agent.post('/api/v1/heartbeats', { service: 'gossip-evidence', instance: 'q', peers: { alive: ['Not A Name'], gone: [] } });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(expect.arrayContaining(['peers.alive must be a list of at most 1000 instance names', 'peers.gone is not a peers field (alive, suspect, dead)']));
  });
});
