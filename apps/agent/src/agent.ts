import { BreakerCache } from './breaker-cache.js';
import type { AgentConfig, ServiceConfig } from './config.js';
import { ControlPlaneClient, type Outcome } from './control-plane.client.js';
import { HeartbeatOutbox } from './heartbeat-outbox.js';
import { IntakeServer } from './intake.server.js';
import { LocalChecks } from './local-checks.js';
import type { Logger } from './logger.js';
import { MetricsAggregator } from './metrics-aggregator.js';
import { advertisedHost, GossipNode } from './gossip/udp-transport.js';
import { Prober } from './prober.js';
import { RelayServer, relayThrough } from './relay.js';
import { AGENT_VERSION } from './version.js';
import type { WireHeartbeat } from './wire.js';

/** How often the agent reports itself to the control plane's agents registry. */
const SELF_REPORT_MS = 60_000;

/** After this many failed direct sends in a row, batches go through a peer that reaches the control plane. */
const RELAY_AFTER_FAILURES = 2;
/** While relaying, the direct path is tried again this often. */
const DIRECT_RETRY_MS = 15_000;

/** Heartbeats due within this much of each other go out in the same request. */
const TICK_COALESCE_MS = 50;
/** Each interval is stretched or shrunk by up to this share, so agents started together drift apart. */
const INTERVAL_JITTER = 0.05;

export interface AgentStatus {
  version: string;
  instance: string;
  controlPlane: string;
  startedAt: string;
  uptimeSeconds: number;
  services: { name: string; intervalSeconds: number; status: string; failingChecks: { target: string; error: string }[]; lastHeartbeatAt: string | null }[];
  /** Heartbeats on their way: queue length, dropped, last successful push, last error. */
  push: ReturnType<HeartbeatOutbox['status']>;
  intake: { enabled: boolean; port: number | null; overflow: number };
  prober: ReturnType<Prober['status']> | { enabled: false };
  gossip:
    | { enabled: false }
    | {
        enabled: true;
        address: string | null;
        members: { id: string; state: string; reachesControlPlane: boolean }[];
        /** Heartbeats of ours that went through a peer. */
        relayedThroughPeers: number;
        /** Heartbeats of peers this agent relayed. */
        relayedForPeers: number;
      };
}

/**
 * One running ninefold-agent: heartbeats for the configured services on their
 * intervals (with jitter; the services due together go out in one request),
 * metrics from the local intake, local checks, prober mode, and the
 * buffer that carries heartbeats through control-plane outages.
 */
export class Agent {
  readonly client: ControlPlaneClient;
  readonly outbox: HeartbeatOutbox;
  readonly aggregator: MetricsAggregator;
  private readonly checks: LocalChecks;
  private readonly intake: IntakeServer;
  private readonly prober?: Prober;
  private readonly breakers: BreakerCache;
  private gossip?: GossipNode;
  private relay?: RelayServer;
  private gossipAddress: string | null = null;
  private readonly direct = { failures: 0, lastAttemptAt: 0, relayed: 0 };
  /** Keep-alive clients of the peers' relays, by origin. */
  private readonly peerClients = new Map<string, ControlPlaneClient>();
  private readonly due = new Map<ServiceConfig, number>();
  private readonly lastBeat = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private reportTimer: NodeJS.Timeout | null = null;
  private intakePort: number | null = null;
  private readonly startedAt = Date.now();
  private stopping = false;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.client = new ControlPlaneClient(cfg.url, cfg.key, { timeoutMs: cfg.requestTimeoutMs, userAgent: `ninefold-agent/${AGENT_VERSION}` });
    this.outbox = new HeartbeatOutbox((heartbeats, key) => this.send(heartbeats, key), {
      maxEntries: cfg.buffer.maxEntries,
      log,
      random,
      // The api's liveness endpoint: no key, no body, answered before Postgres or Redis are.
      probe: () => this.client.get('/healthz', { timeoutMs: 1000 }).then((o) => o.kind === 'ok'),
    });
    this.aggregator = new MetricsAggregator({ slowCallDurationMs: cfg.intake.slowCallDurationMs, slowRequestDurationMs: cfg.intake.slowRequestDurationMs, latencyBucketsMs: cfg.intake.latencyBucketsMs, random });
    this.checks = new LocalChecks(cfg.services, log);
    this.breakers = new BreakerCache(this.client, log);
    this.intake = new IntakeServer({
      aggregator: this.aggregator,
      reports: cfg.intake.enabled,
      services: cfg.services.map((s) => s.name),
      status: () => this.status(),
      breakers: (service) => this.breakers.get(service),
      rateLimitCheck: (policy, body) => this.rateLimitCheck(policy, body),
      log,
    });
    if (cfg.prober.enabled) {
      this.prober = new Prober(this.client, { name: cfg.instance, ...(cfg.zone ? { zone: cfg.zone } : {}), ...(cfg.region ? { region: cfg.region } : {}) }, { ...cfg.prober, requestTimeoutMs: cfg.requestTimeoutMs, log });
    }
  }

  async start(): Promise<void> {
    this.intakePort = await this.intake.listen(this.cfg.intake.host, this.cfg.intake.port);
    if (this.cfg.gossip.peers.length > 0) await this.startGossip();
    await this.checks.start();
    const now = Date.now();
    // The first heartbeat goes out within a second (it registers the instance), at a random moment.
    for (const s of this.cfg.services) this.due.set(s, now + Math.floor(this.random() * Math.min(1000, s.intervalSeconds * 1000)));
    this.schedule();
    this.prober?.start();
    // What it is and how it fares (version, buffer, dropped counts), for the dashboard's Agents page.
    void this.reportSelf();
    this.reportTimer = setInterval(() => void this.reportSelf(), SELF_REPORT_MS);
    this.reportTimer.unref();
    this.log.info('ninefold-agent started', {
      version: AGENT_VERSION,
      controlPlane: this.cfg.url,
      instance: this.cfg.instance,
      services: this.cfg.services.map((s) => s.name),
      intake: `${this.cfg.intake.host}:${this.intakePort}`,
      prober: this.cfg.prober.enabled,
    });
  }

  /** The port the local HTTP server listens on. */
  get port(): number | null {
    return this.intakePort;
  }

  /**
   * Stops making heartbeats, sends what is buffered (for at most `flushMs`),
   * deregisters when configured to, and closes everything.
   */
  async stop(flushMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.checks.stop();
    await this.prober?.stop();
    // A last heartbeat per service carries what applications reported since the previous one.
    const now = Date.now();
    if (this.intakePort !== null && this.cfg.services.length > 0) this.outbox.push(this.cfg.services.map((s) => this.heartbeat(s, now)));
    const deadline = Date.now() + flushMs;
    const sentBefore = this.outbox.status().sent;
    const left = await this.outbox.flush(deadline);
    const delivered = this.outbox.status().sent - sentBefore;
    if (left > 0) this.log.warn('stopping with heartbeats not delivered', { left, delivered, status: this.outbox.status().lastError });
    else this.log.info('delivered the heartbeats waiting at stop', { delivered, sentSinceStart: this.outbox.status().sent });
    if (this.cfg.deregisterOnExit) await this.deregister(deadline);
    this.outbox.close();
    await this.gossip?.stop({ graceful: true });
    await this.relay?.close();
    await this.intake.close();
    this.client.close();
    for (const c of this.peerClients.values()) c.close();
    this.log.info('ninefold-agent stopped');
  }

  status(): AgentStatus {
    const now = Date.now();
    return {
      version: AGENT_VERSION,
      instance: this.cfg.instance,
      controlPlane: this.cfg.url,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      services: this.cfg.services.map((s) => {
        const h = this.checks.health(s);
        const last = this.lastBeat.get(s.name);
        return { name: s.name, intervalSeconds: s.intervalSeconds, status: h.status, failingChecks: h.failing, lastHeartbeatAt: last === undefined ? null : new Date(last).toISOString() };
      }),
      push: this.outbox.status(),
      intake: { enabled: this.cfg.intake.enabled, port: this.intakePort, overflow: this.aggregator.overflow },
      prober: this.prober?.status() ?? { enabled: false },
      gossip: this.gossip
        ? {
            enabled: true,
            address: this.gossipAddress,
            members: this.gossip.members().map((m) => ({ id: m.id, state: m.state, reachesControlPlane: m.reachesControlPlane })),
            relayedThroughPeers: this.direct.relayed,
            relayedForPeers: this.relay?.relayed ?? 0,
          }
        : { enabled: false },
    };
  }

  /**
   * Gossip with the peers of the group (UDP on gossip.port) and the relay
   * (HTTP on the same port number, TCP), so that when this host loses its
   * route to the control plane a peer that has one carries its heartbeats.
   */
  private async startGossip(): Promise<void> {
    const g = this.cfg.gossip;
    const log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => this.log[level](`gossip: ${msg}`, fields);
    this.relay = new RelayServer({ self: this.cfg.instance, group: g.group, ...(g.secret ? { secret: g.secret } : {}), client: this.client, log: this.log });
    const relayPort = await this.relay.listen(g.host, g.port);
    const advertise = this.cfg.address ?? advertisedHost(g.host);
    this.gossip = new GossipNode({
      id: this.cfg.instance,
      host: g.host,
      port: g.port,
      seeds: g.peers,
      group: g.group,
      ...(g.secret ? { secret: g.secret } : {}),
      advertiseHost: advertise,
      config: { syncIntervalMs: g.syncIntervalSeconds * 1000 },
      relayUrl: `http://${advertise}:${relayPort}/v1/relay`,
      log,
    });
    const { address } = await this.gossip.start();
    this.gossipAddress = address;
    this.gossip.onChange((m, previous) => {
      if (m.id !== this.cfg.instance && previous !== undefined && m.state !== previous) this.log.info('gossip: peer changed state', { peer: m.id, from: previous, to: m.state });
    });
  }

  /**
   * One batch to the control plane: directly, or, when the direct path has
   * failed repeatedly, through a peer that reaches the control plane (the
   * direct path is still tried every {@link DIRECT_RETRY_MS}).
   */
  private async send(heartbeats: WireHeartbeat[], key: string): Promise<Outcome> {
    const now = Date.now();
    const relaying = this.gossip !== undefined && this.direct.failures >= RELAY_AFTER_FAILURES;
    if (relaying && now - this.direct.lastAttemptAt < DIRECT_RETRY_MS) {
      const relayed = await this.viaPeer(heartbeats, key);
      if (relayed) return relayed;
    }
    this.direct.lastAttemptAt = now;
    const outcome = await this.client.post('/api/v1/heartbeats', heartbeats.length === 1 ? heartbeats[0] : { heartbeats }, { headers: { 'idempotency-key': key } });
    const reached = outcome.kind !== 'failed' && outcome.kind !== 'throttled';
    this.direct.failures = reached ? 0 : this.direct.failures + 1;
    // Told to the group only when it changes (the membership spreads changes only).
    if (reached || this.direct.failures >= RELAY_AFTER_FAILURES) this.gossip?.setReachesControlPlane(reached);
    if (!reached && this.gossip && this.direct.failures >= RELAY_AFTER_FAILURES) return (await this.viaPeer(heartbeats, key)) ?? outcome;
    return outcome;
  }

  private async reportSelf(): Promise<void> {
    const st = this.status();
    const members = st.gossip.enabled ? st.gossip.members : [];
    const body = {
      version: AGENT_VERSION,
      services: this.cfg.services.map((s) => s.name),
      prober: this.cfg.prober.enabled,
      ...(this.cfg.zone ? { zone: this.cfg.zone } : {}),
      ...(this.cfg.region ? { region: this.cfg.region } : {}),
      ...(this.cfg.address ? { address: this.cfg.address } : {}),
      queue: { waiting: st.push.queued + st.push.inFlight, sent: st.push.sent, dropped: st.push.dropped, rejected: st.push.rejected },
      startedAt: st.startedAt,
      lastSuccessAt: st.push.lastSuccessAt,
      ...(this.gossip ? { gossip: { group: this.cfg.gossip.group, alive: members.filter((m) => m.state === 'alive').length, members: members.length } } : {}),
    };
    const res = await this.client.put(`/api/v1/agents/${encodeURIComponent(this.cfg.instance)}`, body);
    if (res.kind !== 'ok') this.log.debug('could not report to the agents registry', { reason: res.message });
  }

  /** Who the gossip group says is alive, suspected or dead (this agent left out); undefined without gossip. */
  private peerView(): WireHeartbeat['peers'] {
    if (!this.gossip) return undefined;
    const view = { alive: [] as string[], suspect: [] as string[], dead: [] as string[] };
    for (const m of this.gossip.members()) {
      if (m.id === this.cfg.instance) continue;
      if (m.state === 'alive') view.alive.push(m.id);
      else if (m.state === 'suspect') view.suspect.push(m.id);
      else if (m.state === 'dead') view.dead.push(m.id);
    }
    for (const k of ['alive', 'suspect', 'dead'] as const) view[k] = view[k].slice(0, 1000);
    return view.alive.length + view.suspect.length + view.dead.length > 0 ? view : undefined;
  }

  /** Through a random live peer that reaches the control plane; undefined when there is none or it failed too. */
  private async viaPeer(heartbeats: WireHeartbeat[], key: string): Promise<Outcome | undefined> {
    const peers = (this.gossip?.alive() ?? []).filter((m) => m.id !== this.cfg.instance && m.reachesControlPlane && m.address.relayUrl);
    if (peers.length === 0) return undefined;
    const peer = peers[Math.floor(this.random() * peers.length)];
    const origin = new URL(peer.address.relayUrl!).origin;
    let client = this.peerClients.get(origin);
    if (!client) {
      client = new ControlPlaneClient(origin, null, { timeoutMs: this.cfg.requestTimeoutMs, userAgent: `ninefold-agent/${AGENT_VERSION}` });
      this.peerClients.set(origin, client);
    }
    const outcome = await relayThrough(client, peer.id, { heartbeats, idempotencyKey: key }, { self: this.cfg.instance, group: this.cfg.gossip.group, ...(this.cfg.gossip.secret ? { secret: this.cfg.gossip.secret } : {}) });
    if (outcome.kind === 'ok') {
      this.direct.relayed += heartbeats.length;
      return outcome;
    }
    this.log.debug('relay through a peer failed', { peer: peer.id, reason: outcome.message });
    return outcome.kind === 'rejected' ? outcome : undefined;
  }

  private schedule(): void {
    if (this.stopping || this.due.size === 0) return;
    const next = Math.min(...this.due.values());
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - Date.now()));
  }

  private tick(): void {
    const now = Date.now();
    const beats: WireHeartbeat[] = [];
    for (const [s, at] of this.due) {
      if (at > now + TICK_COALESCE_MS) continue;
      beats.push(this.heartbeat(s, now));
      this.lastBeat.set(s.name, now);
      const jitter = 1 + (this.random() * 2 - 1) * INTERVAL_JITTER;
      // From the planned time, not from now: a late tick does not push every later one back.
      this.due.set(s, Math.max(now + 1, at + s.intervalSeconds * 1000 * jitter));
    }
    if (beats.length > 0) {
      // The group's view travels with the heartbeats: evidence for the control plane when a peer falls silent.
      const view = this.peerView();
      if (view) beats[0] = { ...beats[0], peers: view };
      this.outbox.push(beats);
    }
    this.schedule();
  }

  private heartbeat(s: ServiceConfig, now: number): WireHeartbeat {
    const health = this.checks.health(s);
    const metrics = this.cfg.intake.enabled ? this.aggregator.take(s.name) : undefined;
    return {
      service: s.name,
      instance: this.cfg.instance,
      status: health.status,
      ...(health.failing.length ? { reason: failingReason(health.failing) } : {}),
      at: new Date(now).toISOString(),
      intervalSeconds: s.intervalSeconds,
      ...(this.cfg.address ? { address: this.cfg.address } : {}),
      ...(s.port ? { port: s.port } : {}),
      ...(this.cfg.zone ? { zone: this.cfg.zone } : {}),
      ...(this.cfg.region ? { region: this.cfg.region } : {}),
      ...(metrics ? { metrics } : {}),
    };
  }

  /** Applications ask through the agent, which holds the API key; an unreachable control plane is a 503 the client library decides on. */
  private async rateLimitCheck(policy: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const { key, cost } = (typeof body === 'object' && body !== null ? body : {}) as { key?: unknown; cost?: unknown };
    const res = await this.client.post(`/api/v1/ratelimits/${encodeURIComponent(policy)}/check`, { key, ...(cost !== undefined ? { cost } : {}) }, { timeoutMs: 2000 });
    if (res.kind === 'ok') return { status: 200, body: res.body };
    if (res.kind === 'rejected') return { status: res.status, body: { error: res.message } };
    return { status: 503, body: { error: `rate-limit check not available: ${res.message}` } };
  }

  private async deregister(deadline: number): Promise<void> {
    for (const s of this.cfg.services) {
      const timeoutMs = Math.max(500, Math.min(this.cfg.requestTimeoutMs, deadline - Date.now()));
      const res: Outcome = await this.client.delete(`/api/v1/services/${encodeURIComponent(s.name)}/instances/${encodeURIComponent(this.cfg.instance)}`, { timeoutMs });
      if (res.kind === 'ok' || (res.kind === 'rejected' && res.status === 404)) this.log.info('deregistered', { service: s.name, instance: this.cfg.instance });
      else this.log.warn('could not deregister', { service: s.name, instance: this.cfg.instance, reason: res.message });
    }
  }
}

/** `http://127.0.0.1:8080/: ECONNREFUSED; 127.0.0.1:5432: timeout`, within the control plane's 300 characters. */
export function failingReason(failing: { target: string; error: string }[]): string {
  const text = failing.map((f) => `${f.target}: ${f.error}`).join('; ');
  return text.length <= 300 ? text : `${text.slice(0, 299)}…`;
}
