import type { AgentConfig, ServiceConfig } from './config.js';
import { ControlPlaneClient, type Outcome } from './control-plane.client.js';
import { HeartbeatOutbox } from './heartbeat-outbox.js';
import { IntakeServer } from './intake.server.js';
import { LocalChecks } from './local-checks.js';
import type { Logger } from './logger.js';
import { MetricsAggregator } from './metrics-aggregator.js';
import { Prober } from './prober.js';
import { AGENT_VERSION } from './version.js';
import type { WireHeartbeat } from './wire.js';

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
  private readonly due = new Map<ServiceConfig, number>();
  private readonly lastBeat = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private intakePort: number | null = null;
  private readonly startedAt = Date.now();
  private stopping = false;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.client = new ControlPlaneClient(cfg.url, cfg.key, { timeoutMs: cfg.requestTimeoutMs, userAgent: `ninefold-agent/${AGENT_VERSION}` });
    this.outbox = new HeartbeatOutbox((heartbeats, key) => this.client.post('/api/v1/heartbeats', heartbeats.length === 1 ? heartbeats[0] : { heartbeats }, { headers: { 'idempotency-key': key } }), {
      maxEntries: cfg.buffer.maxEntries,
      log,
      random,
    });
    this.aggregator = new MetricsAggregator({ slowCallDurationMs: cfg.intake.slowCallDurationMs, slowRequestDurationMs: cfg.intake.slowRequestDurationMs, random });
    this.checks = new LocalChecks(cfg.services, log);
    this.intake = new IntakeServer({
      aggregator: this.aggregator,
      reports: cfg.intake.enabled,
      services: cfg.services.map((s) => s.name),
      status: () => this.status(),
      breakers: () => ({ items: [] }),
      log,
    });
    if (cfg.prober.enabled) {
      this.prober = new Prober(this.client, { name: cfg.instance, ...(cfg.zone ? { zone: cfg.zone } : {}), ...(cfg.region ? { region: cfg.region } : {}) }, { ...cfg.prober, requestTimeoutMs: cfg.requestTimeoutMs, log });
    }
  }

  async start(): Promise<void> {
    this.intakePort = await this.intake.listen(this.cfg.intake.host, this.cfg.intake.port);
    await this.checks.start();
    const now = Date.now();
    // The first heartbeat goes out within a second (it registers the instance), at a random moment.
    for (const s of this.cfg.services) this.due.set(s, now + Math.floor(this.random() * Math.min(1000, s.intervalSeconds * 1000)));
    this.schedule();
    this.prober?.start();
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
    this.checks.stop();
    await this.prober?.stop();
    // A last heartbeat per service carries what applications reported since the previous one.
    const now = Date.now();
    if (this.intakePort !== null && this.cfg.services.length > 0) this.outbox.push(this.cfg.services.map((s) => this.heartbeat(s, now)));
    const deadline = Date.now() + flushMs;
    const left = await this.outbox.flush(deadline);
    if (left > 0) this.log.warn('stopping with heartbeats not delivered', { left, status: this.outbox.status().lastError });
    else this.log.info('buffered heartbeats delivered', { sent: this.outbox.status().sent });
    if (this.cfg.deregisterOnExit) await this.deregister(deadline);
    this.outbox.close();
    await this.intake.close();
    this.client.close();
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
    };
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
    if (beats.length > 0) this.outbox.push(beats);
    this.schedule();
  }

  private heartbeat(s: ServiceConfig, now: number): WireHeartbeat {
    const health = this.checks.health(s);
    const metrics = this.cfg.intake.enabled ? this.aggregator.take(s.name) : undefined;
    return {
      service: s.name,
      instance: this.cfg.instance,
      status: health.status,
      at: new Date(now).toISOString(),
      intervalSeconds: s.intervalSeconds,
      ...(this.cfg.address ? { address: this.cfg.address } : {}),
      ...(s.port ? { port: s.port } : {}),
      ...(this.cfg.zone ? { zone: this.cfg.zone } : {}),
      ...(this.cfg.region ? { region: this.cfg.region } : {}),
      ...(metrics ? { metrics } : {}),
    };
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
