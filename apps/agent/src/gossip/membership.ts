/**
 * Gossip membership of a group of agents: SWIM failure detection (Das, Gupta,
 * Motivala 2002) with push-pull anti-entropy and rumour dissemination, as a
 * pure state machine. No I/O, no timers, no Math.random: the caller supplies
 * the clock and the random source, calls {@link Membership.tick} often (every
 * ~100 ms) and {@link Membership.receive} for every datagram, and sends the
 * {@link Outgoing} messages both return. udp-transport.ts does that over UDP;
 * simulation.ts does it in virtual time for the tests and the benchmark.
 *
 * What one protocol period (default 1 s) does:
 * - Probe: ping the next member of a shuffled round-robin list. No ack within
 *   `probeTimeoutMs` → ask `indirectProbes` (k) other members to ping it for
 *   us (ping-req); they forward its ack. No ack, direct or forwarded, by the
 *   end of the period → the member becomes SUSPECT, spread as a rumour.
 * - Suspicion: a suspect that hears of it refutes by raising its own
 *   incarnation; after `suspectTimeoutMs` × max(1, log10 n) without a
 *   refutation it is DEAD.
 * - Push-pull (every period by default, `syncIntervalMs`): the full state
 *   goes to `fanout` random members (split in id-range parts that fit a
 *   datagram); each answers with what it knows better in that range. A node
 *   that knows no live member does this with its seed addresses instead,
 *   which is how it joins.
 * - Every outgoing message carries rumours (state changes), newest first,
 *   each sent at most ceil(λ · log2(n + 1)) times. Newest first, rather
 *   than least-sent first, so that a fresh change (a failure, a lost route
 *   to the control plane) goes out at once even behind a backlog of joins.
 *
 * Precedence. Each entry has two versions. Its state is ordered by
 * (incarnation, rank) with alive < suspect < dead < left: an alive of a higher
 * incarnation overrides a suspect or dead one (refutation, restart), a
 * suspect overrides the alive of its incarnation, dead overrides both, and a
 * graceful leave overrides a death. The member's own data (heartbeat counter,
 * reachesControlPlane, addresses) is ordered by (incarnation, heartbeat).
 * Merging keeps the newer of each, so merging is commutative, associative and
 * idempotent: stale digests and replayed rumours change nothing, and any two
 * members that exchanged everything hold the same entries.
 *
 * Two Lifeguard refinements (Dadgar et al. 2017) are included: a ping to a
 * member we suspect carries that suspicion first, so it can refute at once
 * (the "buddy system"), and a probe whose indirect stage could not be sent in
 * time (this node's own timers ran late) never raises a suspicion.
 */
import {
  type GossipMessage,
  invalidGossipAddress,
  invalidGroup,
  invalidId,
  invalidRelayUrl,
  MAC_HEX_LENGTH,
  MAX_DATAGRAM_BYTES,
  type MemberState,
  type MessageBody,
  PROTOCOL_VERSION,
  type Sender,
  type WireMember,
} from './messages.js';

export type { MemberState } from './messages.js';

/** How to reach a member. */
export interface MemberAddress {
  /** Its gossip socket, `host:port`. */
  gossip: string;
  /** Its HTTP relay endpoint, opaque to gossip (the agent's `POST /v1/relay`). */
  relayUrl?: string;
}

/** One member of the group, as this node sees it. */
export interface Member {
  id: string;
  address: MemberAddress;
  /** Raised only by the member itself, to refute a suspicion (or after a restart). */
  incarnation: number;
  /** The member's own counter, raised every protocol period; spread by push-pull only. */
  heartbeat: number;
  state: MemberState;
  /** Whether the member last said it reaches the control plane. */
  reachesControlPlane: boolean;
  /** This node's clock (ms) when it last saw the member's state change (or first learnt of it). */
  changedAtMs: number;
}

/** A message to send to the gossip address `to`. */
export interface Outgoing {
  to: string;
  message: GossipMessage;
}

/** Protocol parameters. docs/gossip.md explains each one. */
export interface GossipConfig {
  /** Name of the group; messages of other groups are ignored. Default `default`. */
  group: string;
  /** Protocol period: one probe and one push-pull round. Default 1000 ms. */
  periodMs: number;
  /** Wait for a direct ack before probing indirectly. Default 0.3 × periodMs (300 ms). */
  probeTimeoutMs: number;
  /** k: members asked to probe indirectly. Default 3. */
  indirectProbes: number;
  /** Suspicion timeout for a group of up to 10; scaled by log10 n above. Default 5 × periodMs. */
  suspectTimeoutMs: number;
  /** Members the state is pushed to (and pulled from) at each push-pull round. Default 2. */
  fanout: number;
  /**
   * Time between push-pull rounds, rounded to whole periods. Default: every
   * period. Rumours alone also spread every change in O(log n) periods, so a
   * large group can push-pull less often (memberlist does so every 30 s).
   */
  syncIntervalMs: number;
  /** λ: each rumour is sent at most ceil(λ · log2(n + 1)) times. Default 3. */
  retransmitMult: number;
  /** Most rumours piggybacked on one message. Default 8. */
  maxRumoursPerMessage: number;
  /** Largest datagram, a MAC prefix included. Default 1400. */
  maxDatagramBytes: number;
  /** How long dead and left members are remembered (and told about). Default 300 × periodMs (5 min). */
  deadRetentionMs: number;
  /** How often push-pull is also tried with one dead member or seed, so partitions heal. Default 30 × periodMs. */
  reconnectIntervalMs: number;
}

/** The defaults for a period of 1 s. */
export const DEFAULT_GOSSIP_CONFIG: Readonly<GossipConfig> = Object.freeze(resolveGossipConfig());

/**
 * The config with defaults filled in (those given as a multiple of the period
 * follow `periodMs`). Throws a RangeError naming the first bad parameter.
 */
export function resolveGossipConfig(partial: Partial<GossipConfig> = {}): GossipConfig {
  const periodMs = partial.periodMs ?? 1000;
  const c: GossipConfig = {
    group: partial.group ?? 'default',
    periodMs,
    probeTimeoutMs: partial.probeTimeoutMs ?? 0.3 * periodMs,
    indirectProbes: partial.indirectProbes ?? 3,
    suspectTimeoutMs: partial.suspectTimeoutMs ?? 5 * periodMs,
    fanout: partial.fanout ?? 2,
    syncIntervalMs: partial.syncIntervalMs ?? periodMs,
    retransmitMult: partial.retransmitMult ?? 3,
    maxRumoursPerMessage: partial.maxRumoursPerMessage ?? 8,
    maxDatagramBytes: partial.maxDatagramBytes ?? MAX_DATAGRAM_BYTES,
    deadRetentionMs: partial.deadRetentionMs ?? 300 * periodMs,
    reconnectIntervalMs: partial.reconnectIntervalMs ?? 30 * periodMs,
  };
  const bad = (name: keyof GossipConfig, why: string): never => {
    throw new RangeError(`gossip config: ${name} ${why} (got ${JSON.stringify(c[name])})`);
  };
  const groupWhy = invalidGroup(c.group);
  if (groupWhy) bad('group', groupWhy);
  if (!(c.periodMs > 0 && Number.isFinite(c.periodMs))) bad('periodMs', 'must be a positive number');
  if (!(c.probeTimeoutMs > 0 && c.probeTimeoutMs < c.periodMs)) bad('probeTimeoutMs', 'must be positive and shorter than periodMs');
  if (!(c.suspectTimeoutMs > 0 && Number.isFinite(c.suspectTimeoutMs))) bad('suspectTimeoutMs', 'must be a positive number');
  if (!(c.syncIntervalMs > 0 && Number.isFinite(c.syncIntervalMs))) bad('syncIntervalMs', 'must be a positive number');
  for (const k of ['indirectProbes', 'fanout', 'maxRumoursPerMessage'] as const) {
    if (!(Number.isSafeInteger(c[k]) && c[k] >= 0)) bad(k, 'must be a non-negative integer');
  }
  if (!(c.retransmitMult > 0 && Number.isFinite(c.retransmitMult))) bad('retransmitMult', 'must be a positive number');
  if (!(Number.isSafeInteger(c.maxDatagramBytes) && c.maxDatagramBytes >= 1200 && c.maxDatagramBytes <= 65_000)) {
    bad('maxDatagramBytes', 'must be an integer from 1200 to 65000');
  }
  if (!(c.deadRetentionMs >= 0 && Number.isFinite(c.deadRetentionMs))) bad('deadRetentionMs', 'must be a non-negative number');
  if (!(c.reconnectIntervalMs > 0 && Number.isFinite(c.reconnectIntervalMs))) bad('reconnectIntervalMs', 'must be a positive number');
  return c;
}

/** Called for each change of a member's state, reachesControlPlane or address (and for each new member, with `previous` undefined). */
export type ChangeListener = (member: Member, previous: MemberState | undefined) => void;

/** What {@link Membership} is built from. */
export interface MembershipOptions {
  /** This node. Its id must be unique in the group. */
  self: { id: string; address: MemberAddress; reachesControlPlane?: boolean };
  /** Gossip addresses (`host:port`) to join through; ids are not needed. This node's own address is skipped. */
  seeds: readonly string[];
  /** Clock in milliseconds (monotonic is best). */
  now: () => number;
  /** Uniform random number in [0, 1). */
  random: () => number;
  config?: Partial<GossipConfig>;
  /** Receives what a change listener threw (listeners are isolated from the protocol); default: ignored. */
  onListenerError?: (error: unknown) => void;
}

const RANK: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** Room kept for rumours in each push-pull part (about one rumour). */
const SYNC_RUMOUR_RESERVE = 150;
/** Indirect probes this node runs for others at once (each lasts at most a period). */
const MAX_RELAYS = 1000;
/** Smallest possible encoded entry: stop looking for a rumour that fits below this. */
const MIN_ENTRY_BYTES = 50;

interface Probe {
  target: string;
  seq: number;
  startedAtMs: number;
  indirectSent: boolean;
  acked: boolean;
}

interface Relay {
  requester: string;
  requesterSeq: number;
  expiresAtMs: number;
}

interface Rumour {
  entry: WireMember;
  bytes: number;
  transmits: number;
}

/** (incarnation, state rank) of a over b. */
function stateNewer(aInc: number, aState: MemberState, bInc: number, bState: MemberState): boolean {
  return aInc !== bInc ? aInc > bInc : RANK[aState] > RANK[bState];
}

/** (incarnation, heartbeat) of a over b. */
function dataNewer(aInc: number, aHb: number, bInc: number, bHb: number): boolean {
  return aInc !== bInc ? aInc > bInc : aHb > bHb;
}

function isLive(m: Member): boolean {
  return m.state === 'alive' || m.state === 'suspect';
}

function toWire(m: Member): WireMember {
  const { id, address, incarnation: inc, heartbeat: hb, state, reachesControlPlane: cp } = m;
  // Key order is the documented one (relayUrl after gossip).
  return address.relayUrl === undefined
    ? { id, gossip: address.gossip, inc, hb, state, cp }
    : { id, gossip: address.gossip, relayUrl: address.relayUrl, inc, hb, state, cp };
}

function addressOf(w: WireMember): MemberAddress {
  return w.relayUrl === undefined ? { gossip: w.gossip } : { gossip: w.gossip, relayUrl: w.relayUrl };
}

function copy(m: Member): Member {
  return { ...m, address: { ...m.address } };
}

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

// Every string in an entry is plain ASCII that JSON does not escape (the
// decoder and the constructor see to it), so an entry's encoded size is
// arithmetic: no JSON.stringify per entry on the hot path.
const ENTRY_BASE = bytes({ id: '', gossip: '', inc: 0, hb: 0, state: '', cp: false }) - 2;
const RELAY_URL_BASE = bytes({ relayUrl: '' }) - 1;

function digits(n: number): number {
  return n < 10 ? 1 : String(n).length;
}

/** JSON.stringify(e).length, computed. */
export function wireBytes(e: WireMember): number {
  return (
    ENTRY_BASE +
    e.id.length +
    e.gossip.length +
    (e.relayUrl === undefined ? 0 : RELAY_URL_BASE + e.relayUrl.length) +
    digits(e.inc) +
    digits(e.hb) +
    e.state.length -
    (e.cp ? 1 : 0)
  );
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The SWIM membership of one node. See the file comment. */
export class Membership {
  /** The resolved protocol parameters. */
  readonly config: Readonly<GossipConfig>;
  private readonly self: Member;
  private readonly sender: Sender;
  private readonly seeds: readonly string[];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly onListenerError: (error: unknown) => void;
  private readonly table = new Map<string, Member>();
  private readonly listeners: ChangeListener[] = [];
  private events: Array<{ member: Member; previous: MemberState | undefined }> = [];
  /** Newest first (a rumour is replaced, not updated, when its member changes again). */
  private rumours: Rumour[] = [];
  private seq = 0;
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private probe: Probe | undefined;
  private readonly relays = new Map<number, Relay>();
  private nextPeriodAtMs: number;
  private nextReconnectAtMs: number;
  private periodCount = 0;
  private hasLeft = false;
  private liveCountCache: number | undefined;

  constructor(opts: MembershipOptions) {
    this.config = Object.freeze(resolveGossipConfig(opts.config));
    const { id, address } = opts.self;
    const why =
      (invalidId(id) && `self.id ${invalidId(id)}`) ||
      (invalidGossipAddress(address.gossip) && `self.address.gossip ${invalidGossipAddress(address.gossip)}`) ||
      (address.relayUrl !== undefined && invalidRelayUrl(address.relayUrl) && `self.address.relayUrl ${invalidRelayUrl(address.relayUrl)}`) ||
      opts.seeds.map((s) => invalidGossipAddress(s) && `seed ${JSON.stringify(s)} ${invalidGossipAddress(s)}`).find(Boolean);
    if (why) throw new RangeError(`gossip: ${why}`);
    this.now = opts.now;
    this.random = opts.random;
    this.onListenerError = opts.onListenerError ?? (() => {});
    this.seeds = [...new Set(opts.seeds)].filter((s) => s !== address.gossip);
    const now = this.now();
    this.self = {
      id,
      address: { ...address },
      incarnation: 0,
      heartbeat: 0,
      state: 'alive',
      reachesControlPlane: opts.self.reachesControlPlane ?? false,
      changedAtMs: now,
    };
    this.sender = { id, gossip: address.gossip };
    this.table.set(id, this.self);
    this.nextPeriodAtMs = now;
    this.nextReconnectAtMs = now + this.config.reconnectIntervalMs;
  }

  /** This node's id. */
  get id(): string {
    return this.self.id;
  }

  /** Protocol periods started so far. */
  get periods(): number {
    return this.periodCount;
  }

  /** Every member this node knows, itself included, sorted by id (copies). */
  members(): Member[] {
    return [...this.table.values()].sort(byId).map(copy);
  }

  /** The members in state `alive`, itself included (unless it left). */
  alive(): Member[] {
    return this.members().filter((m) => m.state === 'alive');
  }

  /** One member by id (a copy), or undefined if unknown (or forgotten after `deadRetentionMs`). */
  member(id: string): Member | undefined {
    const m = this.table.get(id);
    return m && copy(m);
  }

  /** Registers a listener for membership changes; returns a function that removes it. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Sets whether this node reaches the control plane; a change is spread to
   * the group like any other (it raises the heartbeat counter, so it
   * supersedes the previous value everywhere).
   */
  setReachesControlPlane(value: boolean): void {
    if (this.hasLeft || this.self.reachesControlPlane === value) return;
    this.self.reachesControlPlane = value;
    this.self.heartbeat++;
    this.queueRumour(this.self);
    this.emit(this.self, this.self.state);
    this.flush();
  }

  /**
   * Does what is due: the indirect probe after `probeTimeoutMs`, and at each
   * period boundary the verdict on the last probe, the suspicion timeouts, a
   * new probe and push-pull. Call it every ~100 ms (at least once a period).
   */
  tick(): Outgoing[] {
    if (this.hasLeft) return [];
    const now = this.now();
    const out: Outgoing[] = [];
    const p = this.probe;
    if (p && !p.acked && !p.indirectSent && now >= p.startedAtMs + this.config.probeTimeoutMs && now < this.nextPeriodAtMs) {
      this.sendPingReqs(p, out);
    }
    if (now >= this.nextPeriodAtMs) {
      this.startPeriod(now, out);
      this.nextPeriodAtMs += this.config.periodMs;
      if (this.nextPeriodAtMs <= now) this.nextPeriodAtMs = now + this.config.periodMs;
    }
    this.flush();
    return out;
  }

  /**
   * Handles one message; `from` is the gossip address it came from (replies
   * go there). Messages of another group, from this node itself, or arriving
   * after it left are ignored.
   */
  receive(from: string, message: GossipMessage): Outgoing[] {
    if (this.hasLeft || message.group !== this.config.group || message.from.id === this.self.id) return [];
    const now = this.now();
    const out: Outgoing[] = [];
    for (const r of message.rumours) this.merge(r, now);
    switch (message.type) {
      case 'ping':
        if (message.target === this.self.id) out.push(this.build(from, { type: 'ack', seq: message.seq }));
        break;
      case 'ping-req': {
        if (message.target.id === this.self.id) {
          out.push(this.build(from, { type: 'ack', seq: message.seq })); // asked to probe ourselves: here we are
          break;
        }
        if (this.relays.size >= MAX_RELAYS) break; // a flood of ping-reqs does not grow memory without bound
        const seq = ++this.seq;
        this.relays.set(seq, { requester: from, requesterSeq: message.seq, expiresAtMs: now + this.config.periodMs });
        out.push(this.build(message.target.gossip, { type: 'ping', seq, target: message.target.id }));
        break;
      }
      case 'ack': {
        const p = this.probe;
        if (p && p.seq === message.seq) {
          p.acked = true;
        } else {
          const relay = this.relays.get(message.seq);
          if (relay) {
            this.relays.delete(message.seq);
            out.push(this.build(relay.requester, { type: 'ack', seq: relay.requesterSeq }));
          }
        }
        break;
      }
      case 'sync': {
        for (const m of message.members) this.merge(m, now);
        const theirs = new Map(message.members.map((m) => [m.id, m]));
        const { lo, hi } = message;
        const better = [...this.table.values()]
          .filter((m) => m.id >= lo && (hi === null || m.id < hi))
          .filter((m) => {
            const t = theirs.get(m.id);
            if (!t) return isLive(m);
            return stateNewer(m.incarnation, m.state, t.inc, t.state) || dataNewer(m.incarnation, m.heartbeat, t.inc, t.hb);
          })
          .sort(byId)
          .map(toWire);
        if (better.length > 0) out.push(...this.syncParts(from, better, false));
        break;
      }
      case 'sync-reply':
        for (const m of message.members) this.merge(m, now);
        break;
      case 'gossip':
        break;
    }
    this.flush();
    return out;
  }

  /**
   * Leaves the group gracefully: marks itself LEFT and returns the messages
   * that announce it to a few members (the transport sends them and then
   * closes). Afterwards tick and receive do nothing.
   */
  leave(): Outgoing[] {
    if (this.hasLeft) return [];
    const now = this.now();
    const previous = this.self.state;
    this.self.state = 'left';
    this.self.changedAtMs = now;
    this.queueRumour(this.self);
    this.emit(this.self, previous);
    const first = toWire(this.self);
    const targets = sample(this.liveOthers(), Math.max(3, this.retransmitLimit()), this.random);
    const out = targets.map((m) => this.build(m.address.gossip, { type: 'gossip' }, { first }));
    this.hasLeft = true;
    this.probe = undefined;
    this.flush();
    return out;
  }

  // ---------------------------------------------------------------------------
  // The protocol period

  private startPeriod(now: number, out: Outgoing[]): void {
    this.periodCount++;
    const p = this.probe;
    // Suspect only after the indirect stage was actually tried: if this node's
    // own timers ran so late that it never was, the silence proves nothing.
    if (p && !p.acked && p.indirectSent) {
      const m = this.table.get(p.target);
      if (m && m.state === 'alive') this.setState(m, 'suspect', now);
    }
    this.probe = undefined;
    this.self.heartbeat++;

    const timeout = this.suspectTimeoutMs();
    for (const m of [...this.table.values()]) {
      if (m === this.self) continue;
      if (m.state === 'suspect' && now - m.changedAtMs >= timeout) this.setState(m, 'dead', now);
      else if ((m.state === 'dead' || m.state === 'left') && now - m.changedAtMs >= this.config.deadRetentionMs) this.forget(m.id);
    }
    for (const [seq, r] of this.relays) if (r.expiresAtMs <= now) this.relays.delete(seq);

    const target = this.nextProbeTarget();
    if (target) {
      const seq = ++this.seq;
      this.probe = { target: target.id, seq, startedAtMs: now, indirectSent: false, acked: false };
      // Lifeguard's buddy system: a suspect hears of its suspicion first thing.
      const first = target.state === 'suspect' ? toWire(target) : undefined;
      out.push(this.build(target.address.gossip, { type: 'ping', seq, target: target.id }, { first }));
    }

    // Push-pull; a node that knows no live member tries its seeds every period.
    const live = this.liveOthers();
    const syncEvery = Math.max(1, Math.round(this.config.syncIntervalMs / this.config.periodMs));
    let partners: readonly string[] = [];
    if (!live.some((m) => m.state === 'alive')) partners = this.seeds;
    else if (this.periodCount % syncEvery === 0) partners = sample(live, this.config.fanout, this.random).map((m) => m.address.gossip);
    for (const to of partners) out.push(...this.syncMessages(to));

    if (now >= this.nextReconnectAtMs) {
      this.nextReconnectAtMs = now + this.config.reconnectIntervalMs;
      const liveAddresses = new Set(live.map((m) => m.address.gossip));
      const candidates = [
        ...new Set([
          ...[...this.table.values()].filter((m) => m.state === 'dead').map((m) => m.address.gossip),
          ...this.seeds,
        ]),
      ].filter((a) => !liveAddresses.has(a) && a !== this.self.address.gossip && !partners.includes(a));
      if (candidates.length > 0) out.push(...this.syncMessages(candidates[Math.floor(this.random() * candidates.length)]));
    }
  }

  private sendPingReqs(p: Probe, out: Outgoing[]): void {
    p.indirectSent = true;
    const target = this.table.get(p.target);
    if (!target) return;
    const helpers = sample(
      this.liveOthers().filter((m) => m.state === 'alive' && m.id !== p.target),
      this.config.indirectProbes,
      this.random,
    );
    for (const h of helpers) {
      out.push(this.build(h.address.gossip, { type: 'ping-req', seq: p.seq, target: { id: target.id, gossip: target.address.gossip } }));
    }
  }

  /** Round-robin over a shuffled list; the list is reshuffled after each full pass (SWIM §4.3). */
  private nextProbeTarget(): Member | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.probeIndex < this.probeOrder.length) {
        const m = this.table.get(this.probeOrder[this.probeIndex++]);
        if (m && m !== this.self && isLive(m)) return m;
      }
      this.probeOrder = shuffle(
        this.liveOthers().map((m) => m.id),
        this.random,
      );
      this.probeIndex = 0;
      if (this.probeOrder.length === 0) return undefined;
    }
    return undefined;
  }

  /** A new or revived member goes to a random place in what is left of this pass. */
  private addToProbeOrder(id: string): void {
    const pos = this.probeIndex + Math.floor(this.random() * (this.probeOrder.length - this.probeIndex + 1));
    this.probeOrder.splice(pos, 0, id);
  }

  // ---------------------------------------------------------------------------
  // State

  private liveOthers(): Member[] {
    return [...this.table.values()].filter((m) => m !== this.self && isLive(m));
  }

  /** Live members known, itself included (n in the formulas); cached until a state changes. */
  private liveCount(): number {
    if (this.liveCountCache === undefined) {
      let n = 0;
      for (const m of this.table.values()) if (isLive(m)) n++;
      this.liveCountCache = Math.max(n, 1);
    }
    return this.liveCountCache;
  }

  private retransmitLimit(): number {
    return Math.ceil(this.config.retransmitMult * Math.log2(this.liveCount() + 1));
  }

  private suspectTimeoutMs(): number {
    return this.config.suspectTimeoutMs * Math.max(1, Math.log10(this.liveCount()));
  }

  private setState(m: Member, state: MemberState, now: number): void {
    const previous = m.state;
    m.state = state;
    m.changedAtMs = now;
    this.queueRumour(m);
    this.emit(m, previous);
  }

  private forget(id: string): void {
    this.table.delete(id);
    this.liveCountCache = undefined;
    this.rumours = this.rumours.filter((r) => r.entry.id !== id);
  }

  /** Merges what another node says about a member (see "Precedence" in the file comment). */
  private merge(entry: WireMember, now: number): void {
    if (entry.id === this.self.id) {
      this.refuteIfNeeded(entry);
      return;
    }
    const known = this.table.get(entry.id);
    if (!known) {
      // Deaths of members never known are not news; ignoring them also keeps
      // forgotten members from being brought back by a slower node's digest.
      if (!(entry.state === 'alive' || entry.state === 'suspect')) return;
      const m: Member = {
        id: entry.id,
        address: addressOf(entry),
        incarnation: entry.inc,
        heartbeat: entry.hb,
        state: entry.state,
        reachesControlPlane: entry.cp,
        changedAtMs: now,
      };
      this.table.set(m.id, m);
      this.addToProbeOrder(m.id);
      this.queueRumour(m);
      this.emit(m, undefined);
      return;
    }
    const newerState = stateNewer(entry.inc, entry.state, known.incarnation, known.state);
    const newerData = dataNewer(entry.inc, entry.hb, known.incarnation, known.heartbeat);
    if (!newerState && !newerData) return; // stale or already known
    const previous = known.state;
    const { reachesControlPlane: prevCp, address: prevAddress } = known;
    const raisedIncarnation = entry.inc > known.incarnation;
    if (newerState && entry.state !== known.state) {
      known.state = entry.state;
      known.changedAtMs = now;
    }
    if (newerData) {
      known.heartbeat = entry.hb;
      known.reachesControlPlane = entry.cp;
      if (entry.gossip !== prevAddress.gossip || entry.relayUrl !== prevAddress.relayUrl) known.address = addressOf(entry);
    }
    known.incarnation = Math.max(known.incarnation, entry.inc);
    const visible = known.state !== previous || known.reachesControlPlane !== prevCp || known.address !== prevAddress;
    if (visible || (newerState && raisedIncarnation)) this.queueRumour(known);
    if (!(previous === 'alive' || previous === 'suspect') && isLive(known)) this.addToProbeOrder(known.id);
    if (visible) this.emit(known, previous);
  }

  /** Anything newer said about this node than what it holds (a suspicion, a death, a former life) is refuted. */
  private refuteIfNeeded(entry: WireMember): void {
    const s = this.self;
    if (!stateNewer(entry.inc, entry.state, s.incarnation, s.state) && !dataNewer(entry.inc, entry.hb, s.incarnation, s.heartbeat)) return;
    s.incarnation = Math.max(s.incarnation, entry.inc) + 1;
    this.queueRumour(s);
  }

  /** Every change of a member's state goes through here (it also invalidates the live count). */
  private emit(m: Member, previous: MemberState | undefined): void {
    this.liveCountCache = undefined;
    this.events.push({ member: copy(m), previous });
  }

  /** Listeners run after the state is consistent, so they may call back into this object. */
  private flush(): void {
    while (this.events.length > 0) {
      const events = this.events;
      this.events = [];
      for (const e of events) {
        for (const l of [...this.listeners]) {
          try {
            l(copy(e.member), e.previous);
          } catch (err) {
            this.onListenerError(err);
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------------------
  // Messages and rumours

  private queueRumour(m: Member): void {
    const entry = toWire(m);
    const rumour: Rumour = { entry, bytes: wireBytes(entry), transmits: 0 };
    const i = this.rumours.findIndex((r) => r.entry.id === m.id);
    if (i >= 0) this.rumours.splice(i, 1);
    this.rumours.unshift(rumour);
  }

  /** Byte budget of one message's JSON: the datagram limit less room for a MAC. */
  private get budget(): number {
    return this.config.maxDatagramBytes - MAC_HEX_LENGTH;
  }

  /**
   * One message with as many rumours as fit in the datagram (at most
   * maxRumoursPerMessage): `first` (if any) leads, then the newest.
   * `skip`: ids the message already carries.
   */
  private build(to: string, body: MessageBody, opts: { first?: WireMember; skip?: ReadonlySet<string>; size?: number } = {}): Outgoing {
    const rumours: WireMember[] = [];
    const message = { v: PROTOCOL_VERSION, group: this.config.group, ...body, from: this.sender, rumours } as GossipMessage;
    let room = this.budget - (opts.size ?? bytes(message));
    const max = this.config.maxRumoursPerMessage;
    const take = (entry: WireMember, size: number): boolean => {
      const cost = size + (rumours.length > 0 ? 1 : 0);
      if (cost > room) return false;
      rumours.push(entry);
      room -= cost;
      return true;
    };
    if (opts.first && max > 0) take(opts.first, wireBytes(opts.first));
    const sent: Rumour[] = [];
    for (const r of this.rumours) {
      if (rumours.length >= max || room < MIN_ENTRY_BYTES) break;
      if (opts.skip?.has(r.entry.id) || r.entry.id === opts.first?.id) continue;
      if (take(r.entry, r.bytes)) sent.push(r);
    }
    if (sent.length > 0) this.retransmitted(sent);
    return { to, message };
  }

  /** Counts one more transmission of each of `sent` and drops those that reached the limit. */
  private retransmitted(sent: Rumour[]): void {
    const limit = this.retransmitLimit();
    let spent = false;
    for (const r of sent) spent = ++r.transmits >= limit || spent;
    if (spent) this.rumours = this.rumours.filter((r) => r.transmits < limit);
  }

  /** This node's whole state as push-pull `sync` parts for `to`. */
  private syncMessages(to: string): Outgoing[] {
    const entries = [...this.table.values()].sort(byId).map(toWire);
    return this.syncParts(to, entries, true);
  }

  /**
   * Splits `entries` (sorted by id) into messages that fit a datagram. As a
   * request, each part names the id range [lo, hi) it covers, the ranges
   * tiling the whole id space, so the receiver can tell "you lack this" from
   * "that was in another part".
   */
  private syncParts(to: string, entries: WireMember[], request: boolean): Outgoing[] {
    // Size of the message with no members, lo = '' and hi = null; a real
    // lo adds its length, a real hi its length + 2 quotes - 4 for `null`.
    const empty: MessageBody = request ? { type: 'sync', lo: '', hi: null, members: [] } : { type: 'sync-reply', members: [] };
    const emptyBytes = bytes({ v: PROTOCOL_VERSION, group: this.config.group, ...empty, from: this.sender, rumours: [] });
    const longestId = entries.reduce((n, e) => Math.max(n, e.id.length), 0);
    const capacity = this.budget - emptyBytes - (request ? 2 * longestId : 0) - SYNC_RUMOUR_RESERVE;
    const parts: Array<{ members: WireMember[]; bytes: number }> = [];
    let part: WireMember[] = [];
    let used = 0;
    for (const e of entries) {
      const size = wireBytes(e);
      if (part.length > 0 && used + 1 + size > capacity) {
        parts.push({ members: part, bytes: used });
        part = [];
        used = 0;
      }
      used += (part.length > 0 ? 1 : 0) + size;
      part.push(e);
    }
    if (part.length > 0) parts.push({ members: part, bytes: used });
    const out: Outgoing[] = [];
    let lo = '';
    parts.forEach(({ members, bytes: membersBytes }, i) => {
      const skip = new Set(members.map((m) => m.id));
      if (request) {
        const hi = i + 1 < parts.length ? parts[i + 1].members[0].id : null;
        const size = emptyBytes + membersBytes + lo.length + (hi === null ? 0 : hi.length - 2);
        out.push(this.build(to, { type: 'sync', lo, hi, members }, { skip, size }));
        lo = hi ?? '';
      } else {
        out.push(this.build(to, { type: 'sync-reply', members }, { skip, size: emptyBytes + membersBytes }));
      }
    });
    return out;
  }
}

/** Fisher-Yates, in place. */
function shuffle<T>(a: T[], random: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Up to k distinct elements of `a`, uniformly chosen. */
function sample<T>(a: readonly T[], k: number, random: () => number): T[] {
  const c = [...a];
  const n = Math.min(k, c.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (c.length - i));
    [c[i], c[j]] = [c[j], c[i]];
  }
  return c.slice(0, n);
}
