/**
 * An in-memory network of {@link Membership} nodes in virtual time, for the
 * unit tests (membership.spec.ts) and the benchmark (bench/gossip.mjs).
 *
 * Deterministic for a given seed: one seeded random stream drives the network
 * (latency, loss) and each node gets its own. Every node is ticked every
 * `tickMs` of virtual time at its own random phase, as a real agent's timer
 * would be. A message is delivered after a random latency in
 * [latency.min, latency.max] unless it is lost (probability `loss`), its link
 * is blocked, or either end was killed. With `wire`, every message is encoded
 * and decoded with the real codec on the way, and anything too large or
 * undecodable is recorded in `stats.wireErrors`.
 */
import { type GossipMessage, decodeMessage, encodeMessage, MAC_HEX_LENGTH } from './messages.js';
import { type GossipConfig, type Member, type MemberState, Membership, type Outgoing } from './membership.js';

/** mulberry32: a small, fast, seeded PRNG with uniform output in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How the simulated network behaves. */
export interface SimulationOptions {
  seed: number;
  /** Protocol parameters for every node. */
  config?: Partial<GossipConfig>;
  /** One-way latency range in ms; default 1-10. */
  latencyMs?: { min: number; max: number };
  /** Probability that a message is lost; default 0. */
  loss?: number;
  /** How often each node's tick runs; default 100 ms. */
  tickMs?: number;
  /** Encode and decode every message with the real codec (slower); default false. */
  wire?: boolean;
}

/** What went over the simulated network. */
export interface SimulationStats {
  /** Messages handed to the network. */
  sent: number;
  /** Messages delivered. */
  delivered: number;
  /** Lost, blocked, or to or from a killed node. */
  dropped: number;
  /** Encoded bytes sent (counted only with `wire`). */
  bytes: number;
  /** Messages sent per node id. */
  sentBy: Map<string, number>;
  /** With `wire`: messages too large for a datagram or refused by the decoder, with the reason. */
  wireErrors: string[];
}

/** Seen by a simulation-wide change listener: which node observed the change. */
export type SimulationChangeListener = (observer: string, member: Member, previous: MemberState | undefined) => void;

interface Scheduled {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of scheduled events by (time, insertion order). */
class EventQueue {
  private readonly heap: Scheduled[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): Scheduled | undefined {
    return this.heap[0];
  }

  push(e: Scheduled): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): Scheduled | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at !== b.at ? a.at < b.at : a.seq < b.seq;
}

/** The simulated network. Node ids double as hosts: node `n3` listens on `n3:7946`. */
export class Simulation {
  readonly stats: SimulationStats = { sent: 0, delivered: 0, dropped: 0, bytes: 0, sentBy: new Map(), wireErrors: [] };
  private readonly opts: Required<Omit<SimulationOptions, 'config'>> & { config: Partial<GossipConfig> };
  private readonly net: () => number;
  private readonly queue = new EventQueue();
  private readonly nodes = new Map<string, Membership>();
  private readonly stopped = new Set<string>();
  private readonly blocked = new Set<string>();
  private readonly isolated = new Set<string>();
  private readonly listeners: SimulationChangeListener[] = [];
  private readonly taps: Array<(fromId: string, to: string, message: GossipMessage) => void> = [];
  private clock = 0;
  private eventSeq = 0;
  private nodeSeq = 0;

  constructor(opts: SimulationOptions) {
    this.opts = {
      seed: opts.seed,
      config: opts.config ?? {},
      latencyMs: opts.latencyMs ?? { min: 1, max: 10 },
      loss: opts.loss ?? 0,
      tickMs: opts.tickMs ?? 100,
      wire: opts.wire ?? false,
    };
    this.net = seededRandom(opts.seed);
  }

  /** Virtual time in ms since the simulation began. */
  get nowMs(): number {
    return this.clock;
  }

  /** The network's random stream (for tests that want to pick things deterministically). */
  random(): number {
    return this.net();
  }

  /** The gossip address of node `id`. */
  addressOf(id: string): string {
    return `${id}:7946`;
  }

  /**
   * Starts a node now, or after `delayMs` of virtual time (a staggered start
   * gives nodes different period phases, as in a real fleet).
   */
  addNode(id: string, opts: { seeds?: string[]; delayMs?: number; reachesControlPlane?: boolean } = {}): void {
    const index = this.nodeSeq++;
    const start = (): void => {
      const random = seededRandom((this.opts.seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
      const node = new Membership({
        self: { id, address: { gossip: this.addressOf(id), relayUrl: `http://${id}:9100/v1/relay` }, reachesControlPlane: opts.reachesControlPlane },
        seeds: opts.seeds ?? [],
        now: () => this.clock,
        random,
        config: this.opts.config,
        onListenerError: (err) => {
          throw err;
        },
      });
      node.onChange((member, previous) => {
        for (const l of this.listeners) l(id, member, previous);
      });
      this.nodes.set(id, node);
      this.stopped.delete(id); // a restart under the same id
      this.schedule(Math.floor(random() * this.opts.tickMs), () => this.tickLoop(id, node));
    };
    if (!opts.delayMs) start();
    else this.schedule(opts.delayMs, start);
  }

  /** Listens to every node's changes (also those of nodes started later). */
  onChange(listener: SimulationChangeListener): void {
    this.listeners.push(listener);
  }

  /** Sees every message handed to the network (before loss and blocking). */
  onSend(tap: (fromId: string, to: string, message: GossipMessage) => void): void {
    this.taps.push(tap);
  }

  /** The node `id` (it must have started). */
  node(id: string): Membership {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`simulation: node ${id} has not started`);
    return n;
  }

  /** Ids of the nodes started and neither killed nor left, in start order. */
  running(): string[] {
    return [...this.nodes.keys()].filter((id) => !this.stopped.has(id));
  }

  /** Crashes a node: it stops ticking and nothing reaches it or leaves it any more. */
  kill(id: string): void {
    this.stopped.add(id);
  }

  /** A graceful leave: the node's leave messages are sent, then it stops. */
  leave(id: string): void {
    this.dispatch(id, this.node(id).leave());
    this.stopped.add(id);
  }

  /** Drops everything between a and b, both ways. */
  block(a: string, b: string): void {
    this.blocked.add(`${a}>${b}`).add(`${b}>${a}`);
  }

  unblock(a: string, b: string): void {
    this.blocked.delete(`${a}>${b}`);
    this.blocked.delete(`${b}>${a}`);
  }

  /** Cuts every link of `id` (the node keeps running) until {@link reconnect}. */
  isolate(id: string): void {
    this.isolated.add(id);
  }

  reconnect(id: string): void {
    this.isolated.delete(id);
  }

  /** Delivers `message` to node `to` now, as if it came from address `from`. */
  inject(to: string, from: string, message: GossipMessage): void {
    this.dispatch(to, this.node(to).receive(from, message));
  }

  /** Runs `ms` of virtual time. */
  run(ms: number): void {
    const end = this.clock + ms;
    for (let e = this.queue.peek(); e && e.at <= end; e = this.queue.peek()) {
      this.queue.pop();
      this.clock = e.at;
      e.run();
    }
    this.clock = end;
  }

  /**
   * Runs until `done()` holds (checked every `stepMs`), at most `maxMs`.
   * Returns the virtual time it took, or undefined if it never held.
   */
  runUntil(done: () => boolean, maxMs: number, stepMs = 10): number | undefined {
    const start = this.clock;
    while (!done()) {
      if (this.clock - start >= maxMs) return undefined;
      this.run(stepMs);
    }
    return this.clock - start;
  }

  private schedule(delayMs: number, run: () => void): void {
    this.queue.push({ at: this.clock + delayMs, seq: this.eventSeq++, run });
  }

  private tickLoop(id: string, node: Membership): void {
    if (this.stopped.has(id) || this.nodes.get(id) !== node) return;
    this.dispatch(id, node.tick());
    this.schedule(this.opts.tickMs, () => this.tickLoop(id, node));
  }

  private idOf(address: string): string {
    return address.slice(0, address.lastIndexOf(':'));
  }

  private dispatch(fromId: string, outgoing: Outgoing[]): void {
    const fromAddress = this.addressOf(fromId);
    for (const { to, message } of outgoing) {
      this.stats.sent++;
      this.stats.sentBy.set(fromId, (this.stats.sentBy.get(fromId) ?? 0) + 1);
      for (const tap of this.taps) tap(fromId, to, message);
      let delivered: GossipMessage = message;
      if (this.opts.wire) {
        const buf = encodeMessage(message);
        this.stats.bytes += buf.length;
        const limit = this.node(fromId).config.maxDatagramBytes - MAC_HEX_LENGTH;
        if (buf.length > limit) this.stats.wireErrors.push(`${message.type} of ${buf.length} bytes > ${limit}`);
        const decoded = decodeMessage(buf, { group: message.group, maxBytes: limit });
        if ('error' in decoded) {
          this.stats.wireErrors.push(`${message.type}: ${decoded.error}`);
          this.stats.dropped++;
          continue;
        }
        delivered = decoded;
      }
      const toId = this.idOf(to);
      const lost = this.opts.loss > 0 && this.net() < this.opts.loss;
      if (
        lost ||
        this.stopped.has(fromId) ||
        this.isolated.has(fromId) ||
        this.isolated.has(toId) ||
        this.blocked.has(`${fromId}>${toId}`)
      ) {
        this.stats.dropped++;
        continue;
      }
      const { min, max } = this.opts.latencyMs;
      this.schedule(min + this.net() * (max - min), () => {
        const node = this.nodes.get(toId);
        if (!node || this.stopped.has(toId) || this.isolated.has(toId)) {
          this.stats.dropped++;
          return;
        }
        this.stats.delivered++;
        this.dispatch(toId, node.receive(fromAddress, delivered));
      });
    }
  }
}
