/**
 * Gossip over UDP: a {@link Membership} wired to a `node:dgram` socket and a
 * 100 ms timer. One JSON datagram per message (docs/gossip.md), each within
 * 1,400 bytes (the membership packs them so), with an HMAC-SHA256 prefix when
 * the group has a shared secret.
 *
 * Nothing here throws once started: socket errors, send errors and
 * undecodable datagrams are logged through the injected `log` and counted.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { decodeMessage, encodeMessage } from './messages.js';
import { type ChangeListener, type GossipConfig, type Member, Membership, type Outgoing } from './membership.js';

/** The usual gossip port (as memberlist/Serf use). */
export const DEFAULT_GOSSIP_PORT = 7946;

export type GossipLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured log sink: a message and fields (ids, addresses, reasons). */
export type GossipLog = (level: GossipLogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** How a {@link GossipNode} is set up. */
export interface GossipNodeOptions {
  /** This agent's id, unique in the group. */
  id: string;
  /** Address to bind; default `0.0.0.0`. */
  host?: string;
  /** UDP port; default 7946. 0 picks a free port (start() reports it). */
  port?: number;
  /**
   * Host the other members reach this node at. Default: `host`, or when that
   * is a wildcard (`0.0.0.0`), the first non-internal IPv4 address (127.0.0.1 if none).
   */
  advertiseHost?: string;
  /** This agent's HTTP relay endpoint, spread to the group (opaque to gossip). */
  relayUrl?: string;
  /** Gossip addresses (`host:port`) to join through, e.g. from `--peers`. */
  seeds?: string[];
  /** Gossip group name; members of other groups on the same network are ignored. Default `default`. */
  group?: string;
  /** Shared secret: every datagram is authenticated with HMAC-SHA256; those without a valid MAC are dropped. */
  secret?: string;
  /** Initial value of reachesControlPlane (default false: unproven until the agent says so). */
  reachesControlPlane?: boolean;
  /** Protocol parameters (docs/gossip.md). */
  config?: Partial<Omit<GossipConfig, 'group'>>;
  /** How often the membership's tick runs; default 100 ms. */
  tickMs?: number;
  /** Log sink; default: nothing is logged. */
  log?: GossipLog;
}

/** Counters since start. */
export interface GossipNodeStats {
  sent: number;
  received: number;
  /** Datagrams dropped by the decoder (malformed, wrong group, bad MAC, oversized). */
  dropped: number;
  sendErrors: number;
}

/** Remembers which (source, reason) drops were logged at warn level, so a noisy neighbour does not flood the log. */
const MAX_WARNED = 1000;

/** One agent's gossip membership over UDP. */
export class GossipNode {
  private readonly opts: GossipNodeOptions;
  private readonly log: GossipLog;
  private readonly listeners: ChangeListener[] = [];
  private readonly counters: GossipNodeStats = { sent: 0, received: 0, dropped: 0, sendErrors: 0 };
  private readonly warned = new Set<string>();
  private socket: dgram.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private membershipRef: Membership | undefined;
  private reachesControlPlane: boolean;
  private closing = false;

  constructor(opts: GossipNodeOptions) {
    this.opts = opts;
    this.log = opts.log ?? (() => {});
    this.reachesControlPlane = opts.reachesControlPlane ?? false;
  }

  /** The protocol state machine (undefined before start()). */
  get membership(): Membership | undefined {
    return this.membershipRef;
  }

  /**
   * Binds the socket, joins through the seeds and starts the timer. Resolves
   * with the bound port and the advertised gossip address; rejects if the
   * socket cannot be bound or the options are invalid.
   */
  async start(): Promise<{ port: number; address: string }> {
    if (this.socket) throw new Error('gossip: already started');
    const host = this.opts.host ?? '0.0.0.0';
    const socket = dgram.createSocket({ type: 'udp4' });
    this.socket = socket;
    this.closing = false;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: host, port: this.opts.port ?? DEFAULT_GOSSIP_PORT }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      const port = socket.address().port;
      const address = `${this.opts.advertiseHost ?? advertisedHost(host)}:${port}`;
      const membership = new Membership({
        self: {
          id: this.opts.id,
          address: this.opts.relayUrl === undefined ? { gossip: address } : { gossip: address, relayUrl: this.opts.relayUrl },
          reachesControlPlane: this.reachesControlPlane,
        },
        seeds: this.opts.seeds ?? [],
        // Monotonic (an NTP step must not fire suspicion timeouts) but in epoch milliseconds.
        now: () => performance.timeOrigin + performance.now(),
        random: Math.random,
        config: { ...this.opts.config, group: this.opts.group ?? 'default' },
        onListenerError: (err) => this.log('error', 'gossip: a membership listener threw', { err: String(err) }),
      });
      this.membershipRef = membership;
      membership.onChange((m, previous) => {
        if (m.state !== previous) {
          this.log(m.state === 'alive' ? 'info' : 'warn', `gossip: member ${m.id} is ${m.state}`, {
            memberId: m.id,
            state: m.state,
            previous,
            incarnation: m.incarnation,
            gossip: m.address.gossip,
          });
        }
      });
      for (const l of this.listeners) membership.onChange(l);
      socket.on('error', (err) => this.log('error', 'gossip: socket error', { err: err.message }));
      socket.on('message', (buf, rinfo) => this.onDatagram(buf, `${rinfo.address}:${rinfo.port}`));
      this.timer = setInterval(() => this.pump(), this.opts.tickMs ?? 100);
      this.timer.unref();
      this.log('info', 'gossip: started', { id: this.opts.id, address, group: this.opts.group ?? 'default', seeds: this.opts.seeds ?? [] });
      this.pump();
      return { port, address };
    } catch (err) {
      this.socket = undefined;
      this.membershipRef = undefined;
      try {
        socket.close();
      } catch {
        // already closed
      }
      throw err;
    }
  }

  /**
   * Stops. Graceful (the default): announces LEFT to a few members first, so
   * the group records a departure rather than a failure. `graceful: false`
   * just closes the socket, as a crash would (the group then finds the node
   * dead by probing).
   */
  async stop(opts: { graceful?: boolean } = {}): Promise<void> {
    const socket = this.socket;
    if (!socket || this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    if (opts.graceful !== false && this.membershipRef) {
      await withTimeout(Promise.all(this.membershipRef.leave().map((o) => this.send(o))), 1000);
    }
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    this.socket = undefined;
    this.log('info', 'gossip: stopped', { id: this.opts.id, graceful: opts.graceful !== false });
  }

  /** Every member known, this node included (empty before start()). */
  members(): Member[] {
    return this.membershipRef?.members() ?? [];
  }

  /** Members in state alive, this node included. */
  alive(): Member[] {
    return this.membershipRef?.alive() ?? [];
  }

  /** Sets whether this agent reaches the control plane; a change is spread to the group. */
  setReachesControlPlane(value: boolean): void {
    this.reachesControlPlane = value;
    this.membershipRef?.setReachesControlPlane(value);
  }

  /** Listens to membership changes (see {@link Membership.onChange}); may be called before start(). */
  onChange(listener: ChangeListener): () => void {
    this.listeners.push(listener);
    const off = this.membershipRef?.onChange(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      off?.();
    };
  }

  /** Counters since start. */
  stats(): GossipNodeStats {
    return { ...this.counters };
  }

  private pump(): void {
    if (this.closing || !this.membershipRef) return;
    try {
      for (const o of this.membershipRef.tick()) void this.send(o);
    } catch (err) {
      this.log('error', 'gossip: tick failed', { err: err instanceof Error ? err.stack : String(err) });
    }
  }

  private onDatagram(buf: Buffer, from: string): void {
    if (this.closing || !this.membershipRef) return;
    this.counters.received++;
    const decoded = decodeMessage(buf, { group: this.opts.group ?? 'default', secret: this.opts.secret, maxBytes: this.membershipRef.config.maxDatagramBytes });
    if ('error' in decoded) {
      this.counters.dropped++;
      const key = `${from}|${decoded.error.split(/[ :(]/)[0]}`;
      const first = !this.warned.has(key) && this.warned.size < MAX_WARNED;
      if (first) this.warned.add(key);
      this.log(first ? 'warn' : 'debug', 'gossip: datagram dropped', { from, reason: decoded.error, bytes: buf.length });
      return;
    }
    try {
      for (const o of this.membershipRef.receive(from, decoded)) void this.send(o);
    } catch (err) {
      this.log('error', 'gossip: handling a message failed', { from, type: decoded.type, err: err instanceof Error ? err.stack : String(err) });
    }
  }

  /** Sends one message; resolves when the datagram left (or failed: logged, never rejected). */
  private send(o: Outgoing): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.resolve();
    const buf = encodeMessage(o.message, this.opts.secret);
    const limit = this.membershipRef?.config.maxDatagramBytes ?? buf.length;
    if (buf.length > limit) {
      this.log('warn', 'gossip: message too large, not sent', { to: o.to, type: o.message.type, bytes: buf.length });
      return Promise.resolve();
    }
    const sep = o.to.lastIndexOf(':');
    const host = o.to.slice(0, sep).replace(/^\[(.*)\]$/, '$1');
    const port = Number(o.to.slice(sep + 1));
    return new Promise((resolve) => {
      try {
        socket.send(buf, port, host, (err) => {
          if (err) {
            this.counters.sendErrors++;
            this.log('debug', 'gossip: send failed', { to: o.to, type: o.message.type, err: err.message });
          } else {
            this.counters.sent++;
          }
          resolve();
        });
      } catch (err) {
        // The socket was closed under us (stop() racing a reply).
        this.counters.sendErrors++;
        this.log('debug', 'gossip: send failed', { to: o.to, err: String(err) });
        resolve();
      }
    });
  }
}

/** The host to advertise for a bind address: itself, unless it is the IPv4 wildcard. */
export function advertisedHost(bindHost: string): string {
  if (bindHost !== '0.0.0.0') return bindHost;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
