import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { type GossipMessage, type WireMember } from './messages.js';
import { DEFAULT_GOSSIP_CONFIG, type Member, type MemberState, Membership, resolveGossipConfig } from './membership.js';
import { Simulation, type SimulationOptions, seededRandom } from './simulation.js';

const PERIOD = DEFAULT_GOSSIP_CONFIG.periodMs;

interface Seen {
  at: number;
  observer: string;
  id: string;
  state: MemberState;
  previous: MemberState | undefined;
  cp: boolean;
}

/** n nodes n0..n(n-1), all seeded with n0, started at random moments within the first period; every change recorded. */
function cluster(n: number, opts: Partial<SimulationOptions> & { seed: number }): { sim: Simulation; ids: string[]; seen: Seen[] } {
  const sim = new Simulation(opts);
  const seen: Seen[] = [];
  sim.onChange((observer, m, previous) =>
    seen.push({ at: sim.nowMs, observer, id: m.id, state: m.state, previous, cp: m.reachesControlPlane }),
  );
  const ids = Array.from({ length: n }, (_, i) => `n${i}`);
  sim.addNode(ids[0]);
  for (const id of ids.slice(1)) sim.addNode(id, { seeds: [sim.addressOf(ids[0])], delayMs: 1 + Math.floor(sim.random() * PERIOD) });
  return { sim, ids, seen };
}

function stateOf(sim: Simulation, observer: string, id: string): MemberState | undefined {
  return sim.node(observer).member(id)?.state;
}

/** Every running node sees every id in `ids` alive. */
function allAlive(sim: Simulation, ids: readonly string[]): boolean {
  const running = sim.running();
  if (running.length === 0) return false;
  return running.every((o) => ids.every((id) => stateOf(sim, o, id) === 'alive'));
}

/** Every running node other than `id` sees `id` as `pred` says. */
function everyoneSees(sim: Simulation, id: string, pred: (m: Member | undefined) => boolean): boolean {
  return sim
    .running()
    .filter((o) => o !== id)
    .every((o) => pred(sim.node(o).member(id)));
}

function joined(n: number, seed: number, opts: Partial<SimulationOptions> = {}): { sim: Simulation; ids: string[]; seen: Seen[] } {
  const c = cluster(n, { seed, ...opts });
  const took = c.sim.runUntil(() => c.sim.running().length === n && allAlive(c.sim, c.ids), 60 * PERIOD);
  if (took === undefined) throw new Error(`${n} nodes (seed ${seed}) did not converge in 60 periods`);
  return c;
}

describe('gossip membership (simulated network)', () => {
  it('joins through a seed: every node sees every node alive within a few periods', () => {
    const { sim, ids } = cluster(10, { seed: 1 });
    const took = sim.runUntil(() => sim.running().length === 10 && allAlive(sim, ids), 30 * PERIOD);
    expect(took).toBeDefined();
    expect(took!).toBeLessThanOrEqual(8 * PERIOD);
    for (const id of ids) expect(sim.node(id).alive().map((m) => m.id)).toEqual([...ids].sort());
  });

  it('a killed member becomes SUSPECT, then DEAD everywhere; nobody else is suspected', () => {
    const { sim, seen } = joined(8, 2);
    const killedAt = sim.nowMs;
    sim.kill('n5');
    const took = sim.runUntil(() => everyoneSees(sim, 'n5', (m) => m?.state === 'dead'), 60 * PERIOD);
    expect(took).toBeDefined();
    const after = seen.filter((s) => s.at >= killedAt);
    const firstSuspect = after.find((s) => s.id === 'n5' && s.state === 'suspect');
    const firstDead = after.find((s) => s.id === 'n5' && s.state === 'dead');
    expect(firstSuspect).toBeDefined();
    expect(firstSuspect!.at).toBeLessThan(firstDead!.at);
    // Dead no sooner than the suspicion timeout (5 periods for n <= 10) after the first suspicion.
    expect(firstDead!.at - firstSuspect!.at).toBeGreaterThanOrEqual(5 * PERIOD);
    expect(took!).toBeLessThanOrEqual(15 * PERIOD);
    expect(seen.filter((s) => s.id !== 'n5' && (s.state === 'suspect' || s.state === 'dead'))).toEqual([]);
  });

  it('does not suspect a member that A cannot reach directly but others can (indirect probe)', () => {
    const { sim, seen } = joined(6, 3);
    sim.block('n0', 'n3');
    const pingReqs: string[] = [];
    sim.onSend((from, to, m) => {
      if (m.type === 'ping-req' && from === 'n0') pingReqs.push(`${m.target.id} via ${to}`);
    });
    sim.run(60 * PERIOD);
    // n0 did probe n3 indirectly (each pass of its round-robin), through k = 3 others each time.
    expect(pingReqs.filter((p) => p.startsWith('n3 ')).length).toBeGreaterThanOrEqual(3 * 10);
    expect(pingReqs.every((p) => p.startsWith('n3 '))).toBe(true);
    expect(seen.filter((s) => s.state === 'suspect' || s.state === 'dead')).toEqual([]);
    expect(stateOf(sim, 'n0', 'n3')).toBe('alive');
    expect(stateOf(sim, 'n3', 'n0')).toBe('alive');
  });

  it('a falsely suspected member refutes (higher incarnation) and is alive again everywhere, never dead', () => {
    const { sim, seen } = joined(6, 4);
    sim.isolate('n2');
    const suspected = sim.runUntil(() => sim.running().some((o) => o !== 'n2' && stateOf(sim, o, 'n2') === 'suspect'), 10 * PERIOD);
    expect(suspected).toBeDefined();
    sim.reconnect('n2');
    const took = sim.runUntil(() => everyoneSees(sim, 'n2', (m) => m?.state === 'alive' && m.incarnation >= 1), 10 * PERIOD);
    expect(took).toBeDefined();
    expect(sim.node('n2').member('n2')!.incarnation).toBeGreaterThanOrEqual(1);
    sim.run(20 * PERIOD);
    expect(seen.filter((s) => s.state === 'dead')).toEqual([]);
    expect(allAlive(sim, sim.running())).toBe(true);
  });

  it('LEFT spreads to every member and is never turned into suspect or dead', () => {
    const { sim, seen } = joined(6, 5);
    const leftAt = sim.nowMs;
    sim.leave('n4');
    const took = sim.runUntil(() => everyoneSees(sim, 'n4', (m) => m?.state === 'left'), 10 * PERIOD);
    expect(took).toBeDefined();
    expect(took!).toBeLessThanOrEqual(3 * PERIOD);
    sim.run(30 * PERIOD);
    expect(everyoneSees(sim, 'n4', (m) => m?.state === 'left')).toBe(true);
    expect(seen.filter((s) => s.at >= leftAt && s.state !== 'left')).toEqual([]);
  });

  it('spreads reachesControlPlane changes to every member', () => {
    const { sim } = joined(8, 6);
    expect(everyoneSees(sim, 'n3', (m) => m?.reachesControlPlane === false)).toBe(true);
    sim.node('n3').setReachesControlPlane(true);
    expect(sim.runUntil(() => everyoneSees(sim, 'n3', (m) => m?.reachesControlPlane === true), 10 * PERIOD)).toBeDefined();
    sim.node('n3').setReachesControlPlane(false);
    expect(sim.runUntil(() => everyoneSees(sim, 'n3', (m) => m?.reachesControlPlane === false), 10 * PERIOD)).toBeDefined();
    expect(sim.node('n3').member('n3')!.reachesControlPlane).toBe(false);
  });

  it('with 10 % message loss: false suspicions are refuted (nobody wrongly dead), and a real failure is still found', () => {
    const { sim, seen } = joined(12, 7, { loss: 0.1 });
    sim.run(60 * PERIOD);
    expect(seen.filter((s) => s.state === 'suspect').length).toBeGreaterThan(0); // loss does cause suspicions...
    expect(seen.filter((s) => s.state === 'dead')).toEqual([]); // ...but every one is refuted in time
    sim.kill('n7');
    expect(sim.runUntil(() => everyoneSees(sim, 'n7', (m) => m?.state === 'dead'), 30 * PERIOD)).toBeDefined();
    expect(seen.filter((s) => s.state === 'dead' && s.id !== 'n7')).toEqual([]);
  });

  it('a restarted member (same id, incarnation 0) refutes its own death and is alive again everywhere', () => {
    const { sim, ids } = joined(5, 8);
    sim.kill('n1');
    expect(sim.runUntil(() => everyoneSees(sim, 'n1', (m) => m?.state === 'dead'), 30 * PERIOD)).toBeDefined();
    sim.addNode('n1', { seeds: [sim.addressOf('n0')] });
    expect(sim.runUntil(() => allAlive(sim, ids), 10 * PERIOD)).toBeDefined();
    expect(sim.node('n0').member('n1')!.incarnation).toBeGreaterThanOrEqual(1);
  });

  it('heals a partition: both sides declare the other dead, then merge again through reconnect attempts', () => {
    const { sim, ids } = joined(6, 9, { config: { reconnectIntervalMs: 10 * PERIOD } });
    const [left, right] = [ids.slice(0, 3), ids.slice(3)];
    for (const a of left) for (const b of right) sim.block(a, b);
    expect(sim.runUntil(() => left.every((a) => right.every((b) => stateOf(sim, a, b) === 'dead')), 60 * PERIOD)).toBeDefined();
    for (const a of left) for (const b of right) sim.unblock(a, b);
    expect(sim.runUntil(() => allAlive(sim, ids), 60 * PERIOD)).toBeDefined();
  });

  it('keeps every datagram within 1,400 bytes and decodable when the state needs several (wire codec in the loop)', () => {
    const { sim, ids } = joined(40, 10, { wire: true });
    const parts = new Set<string>();
    sim.onSend((_from, _to, m) => {
      if (m.type === 'sync') parts.add(`${m.lo}..${m.hi}`);
    });
    sim.node('n17').setReachesControlPlane(true);
    expect(sim.runUntil(() => everyoneSees(sim, 'n17', (m) => m?.reachesControlPlane === true), 10 * PERIOD)).toBeDefined();
    sim.kill('n30');
    expect(sim.runUntil(() => everyoneSees(sim, 'n30', (m) => m?.state === 'dead'), 30 * PERIOD)).toBeDefined();
    expect(sim.stats.wireErrors).toEqual([]);
    // 40 entries (~120 bytes each) cannot fit one datagram: the state went in several parts.
    expect(parts.size).toBeGreaterThan(3);
    expect(ids).toHaveLength(40);
  });

  it('rumours alone spread changes in O(log n) rounds (push-pull only every 30 periods)', () => {
    const { sim } = joined(32, 14, { config: { syncIntervalMs: 30 * PERIOD } });
    sim.node('n9').setReachesControlPlane(true);
    const flip = sim.runUntil(() => everyoneSees(sim, 'n9', (m) => m?.reachesControlPlane === true), 30 * PERIOD);
    expect(flip).toBeDefined();
    expect(flip! / PERIOD).toBeLessThanOrEqual(Math.log2(32));
    sim.kill('n20');
    expect(sim.runUntil(() => everyoneSees(sim, 'n20', (m) => m?.state === 'dead'), 30 * PERIOD)).toBeDefined();
  });

  it('property: with no loss and no failures, no member is ever suspected or declared dead', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 100 }), (seed, n, maxLatency) => {
        const { sim, ids, seen } = cluster(n, { seed, latencyMs: { min: 0, max: maxLatency } });
        sim.run(30 * PERIOD);
        expect(seen.filter((s) => s.state !== 'alive')).toEqual([]);
        expect(allAlive(sim, ids)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('spreads a change to every member in rounds that grow with log n, not with n', () => {
    const rounds = new Map<number, number>();
    for (const n of [8, 16, 32, 64]) {
      const runs: number[] = [];
      for (const seed of [11, 12, 13]) {
        const { sim, ids } = joined(n, seed * 100 + n);
        const who = ids[1 + Math.floor(sim.random() * (n - 1))];
        sim.node(who).setReachesControlPlane(true);
        const took = sim.runUntil(() => everyoneSees(sim, who, (m) => m?.reachesControlPlane === true), 30 * PERIOD);
        expect(took).toBeDefined();
        runs.push(took! / PERIOD);
      }
      rounds.set(n, runs.reduce((a, b) => a + b, 0) / runs.length);
    }
    for (const [n, r] of rounds) expect(r).toBeLessThanOrEqual(2 * Math.log2(n));
    // log2 64 / log2 8 = 2; growth linear in n would be 8×.
    expect(rounds.get(64)!).toBeLessThan(4 * rounds.get(8)!);
  });
});

describe('gossip membership (merging, one node)', () => {
  const X = (over: Partial<WireMember> = {}): WireMember => ({ id: 'x', gossip: 'x:7946', inc: 2, hb: 10, state: 'alive', cp: true, ...over });
  const gossip = (rumours: WireMember[]): GossipMessage => ({ v: 1, group: 'default', type: 'gossip', from: { id: 'b', gossip: 'b:7946' }, rumours });

  function node(): { m: Membership; changes: Array<[Member, MemberState | undefined]> } {
    const m = new Membership({ self: { id: 'a', address: { gossip: 'a:7946' } }, seeds: [], now: () => 0, random: seededRandom(1) });
    const changes: Array<[Member, MemberState | undefined]> = [];
    m.onChange((member, previous) => changes.push([member, previous]));
    return { m, changes };
  }

  it('ignores stale state: lower incarnation, or the same incarnation with an older heartbeat', () => {
    const { m, changes } = node();
    m.receive('b:7946', gossip([X()]));
    expect(changes).toHaveLength(1);
    m.receive('b:7946', gossip([X({ inc: 1, hb: 50, cp: false }), X({ inc: 1, state: 'suspect' }), X({ inc: 1, state: 'dead' }), X({ hb: 9, cp: false })]));
    expect(m.member('x')).toMatchObject({ incarnation: 2, heartbeat: 10, state: 'alive', reachesControlPlane: true });
    expect(changes).toHaveLength(1);
    m.receive('b:7946', gossip([X({ hb: 11, cp: false })]));
    expect(m.member('x')).toMatchObject({ incarnation: 2, heartbeat: 11, reachesControlPlane: false });
    expect(changes).toHaveLength(2);
  });

  it('answers a stale digest with the newer entry, so the sender catches up', () => {
    const { m } = node();
    m.receive('b:7946', gossip([X({ hb: 20 })]));
    const out = m.receive('b:7946', { v: 1, group: 'default', type: 'sync', lo: '', hi: null, from: { id: 'b', gossip: 'b:7946' }, rumours: [], members: [X({ hb: 5 })] });
    expect(m.member('x')!.heartbeat).toBe(20);
    const replies = out.filter((o) => o.message.type === 'sync-reply');
    expect(replies.map((o) => o.to)).toEqual(['b:7946']);
    const members = replies.flatMap((o) => (o.message.type === 'sync-reply' ? o.message.members : []));
    expect(members.find((e) => e.id === 'x')).toMatchObject({ hb: 20 });
    expect(members.find((e) => e.id === 'a')).toMatchObject({ state: 'alive' }); // the sender did not list a
  });

  it('orders states as SWIM does: suspect > alive of the same incarnation, alive of a higher one > suspect, dead > both, left > dead', () => {
    const { m } = node();
    m.receive('b:7946', gossip([X()]));
    m.receive('b:7946', gossip([X({ state: 'suspect' })]));
    expect(m.member('x')!.state).toBe('suspect');
    m.receive('b:7946', gossip([X({ hb: 99 })])); // same incarnation: does not clear the suspicion
    expect(m.member('x')).toMatchObject({ state: 'suspect', heartbeat: 99 });
    m.receive('b:7946', gossip([X({ inc: 3 })]));
    expect(m.member('x')).toMatchObject({ state: 'alive', incarnation: 3 });
    m.receive('b:7946', gossip([X({ inc: 3, state: 'dead' })]));
    expect(m.member('x')!.state).toBe('dead');
    m.receive('b:7946', gossip([X({ inc: 3, state: 'suspect', hb: 500 })]));
    expect(m.member('x')!.state).toBe('dead');
    m.receive('b:7946', gossip([X({ inc: 3, state: 'left' })]));
    expect(m.member('x')!.state).toBe('left');
  });

  it('ignores the death of a member it never knew', () => {
    const { m, changes } = node();
    m.receive('b:7946', gossip([X({ state: 'dead' }), { ...X({ state: 'left' }), id: 'y' }]));
    expect(m.members().map((x) => x.id)).toEqual(['a']);
    expect(changes).toEqual([]);
  });

  it('refutes a suspicion of itself by raising its incarnation, and says so in its next message', () => {
    const { m } = node();
    m.receive('b:7946', gossip([X()]));
    const out = m.receive('b:7946', { ...gossip([{ id: 'a', gossip: 'a:7946', inc: 0, hb: 0, state: 'suspect', cp: false }]), type: 'ping', seq: 7, target: 'a' });
    expect(m.member('a')).toMatchObject({ state: 'alive', incarnation: 1 });
    expect(out).toHaveLength(1);
    expect(out[0].message).toMatchObject({ type: 'ack', seq: 7 });
    expect(out[0].message.rumours.find((r) => r.id === 'a')).toMatchObject({ state: 'alive', inc: 1 });
  });

  it('sends each rumour at most ceil(λ · log2(n + 1)) times', () => {
    const { m } = node();
    m.receive('b:7946', gossip([X()])); // n = 2: limit ceil(3 · log2 3) = 5
    let carried = 0;
    for (let i = 0; i < 20; i++) {
      const out = m.receive('b:7946', { ...gossip([]), type: 'ping', seq: i, target: 'a' });
      carried += out[0].message.rumours.filter((r) => r.id === 'x').length;
    }
    expect(carried).toBe(5);
  });

  it('rejects bad configuration and bad addresses at construction', () => {
    expect(() => resolveGossipConfig({ periodMs: 0 })).toThrow(/periodMs/);
    expect(() => resolveGossipConfig({ probeTimeoutMs: 2000 })).toThrow(/probeTimeoutMs/);
    expect(() => resolveGossipConfig({ group: 'has space' })).toThrow(/group/);
    expect(resolveGossipConfig({ periodMs: 200 })).toMatchObject({ probeTimeoutMs: 60, suspectTimeoutMs: 1000 });
    const base = { seeds: [], now: () => 0, random: Math.random };
    expect(() => new Membership({ ...base, self: { id: 'a b', address: { gossip: 'a:1' } } })).toThrow(/self.id/);
    expect(() => new Membership({ ...base, self: { id: 'a', address: { gossip: 'a' } } })).toThrow(/gossip/);
    expect(() => new Membership({ ...base, seeds: ['x:99999'], self: { id: 'a', address: { gossip: 'a:1' } } })).toThrow(/seed/);
  });
});
