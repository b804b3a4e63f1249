import { afterAll, describe, expect, it } from '@jest/globals';
import { type GossipLog, GossipNode } from './udp-transport.js';

// Five real UDP gossip nodes on 127.0.0.1 with short periods (200 ms): the
// suspicion timeout is 5 periods = 1 s, so a crash is confirmed in ~2 s.
const PERIOD_MS = 200;
const logs: string[] = [];
const log: GossipLog = (level, msg, fields) => {
  if (level === 'error') logs.push(`${msg} ${JSON.stringify(fields)}`);
};

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

describe('gossip over UDP (5 agents on 127.0.0.1)', () => {
  const nodes: GossipNode[] = [];
  const node = (i: number, seeds: string[]) =>
    new GossipNode({
      id: `agent-${i}`,
      host: '127.0.0.1',
      port: 0,
      relayUrl: `http://127.0.0.1:${9100 + i}/v1/relay`,
      seeds,
      group: 'e2e',
      secret: 'shared secret of the e2e group',
      reachesControlPlane: true,
      config: { periodMs: PERIOD_MS },
      log,
    });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop({ graceful: false })));
  });

  it('join, detect a crash, spread a lost route to the control plane, and a graceful leave', async () => {
    nodes.push(node(0, []));
    const { address: seed } = await nodes[0].start();
    for (let i = 1; i < 5; i++) nodes.push(node(i, [seed]));
    await Promise.all(nodes.slice(1).map((n) => n.start()));

    await until('all 5 see 5 alive', () => nodes.every((n) => n.alive().length === 5), 5000);
    expect(nodes[2].members().find((m) => m.id === 'agent-3')!.address.relayUrl).toBe('http://127.0.0.1:9103/v1/relay');

    // agent-4 crashes (no leave): the others find it dead by probing.
    await nodes[4].stop({ graceful: false });
    const killed = nodes.slice(0, 4);
    const tookDead = await until('agent-4 dead everywhere', () => killed.every((n) => n.members().find((m) => m.id === 'agent-4')?.state === 'dead'), 8000);
    expect(tookDead).toBeGreaterThanOrEqual(5 * PERIOD_MS); // never before the suspicion timeout
    expect(killed.every((n) => n.alive().length === 4)).toBe(true);

    // agent-1 loses its route to the control plane: everybody learns it.
    nodes[1].setReachesControlPlane(false);
    await until('agent-1 cp=false everywhere', () => killed.every((n) => n.members().find((m) => m.id === 'agent-1')?.reachesControlPlane === false), 3000);
    // Relay candidates as the agent would pick them: alive, reaching the control plane, with a relay URL.
    const relays = nodes[1].alive().filter((m) => m.reachesControlPlane && m.address.relayUrl !== undefined).map((m) => m.id);
    expect(relays.sort()).toEqual(['agent-0', 'agent-2', 'agent-3']);

    // agent-3 leaves gracefully: LEFT, not dead.
    await nodes[3].stop();
    await until('agent-3 left everywhere', () => nodes.slice(0, 3).every((n) => n.members().find((m) => m.id === 'agent-3')?.state === 'left'), 3000);

    for (const n of nodes.slice(0, 3)) expect(n.stats().dropped).toBe(0);
    expect(logs).toEqual([]);
  }, 20_000);
});
