import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { InjectConfig, type LeaderElection, LeaderElectionService, MetricsService, type NinefoldConfig, RedisService } from '#core';
import { ClusterWatch } from './cluster-watch.service.js';
import { flapAfter, isFlapping } from './detection.js';
import { GossipEvidenceStore } from './gossip-evidence.js';
import { HeartbeatStream } from './heartbeat-stream.js';
import { ingressPresenceKey, parseIngressPresence } from './ingress-presence.service.js';
import { applyDeadline, type DeadlineContext, type InstanceRecord, postpone, type Step, wantsProbe } from './instance-state.js';
import { InstanceStore, type StoredInstance } from './instance-store.js';
import { ProbesService } from './probes.service.js';
import { SignalsService } from './signals.service.js';
import { type InstanceChange, instanceChange } from './state-changes.service.js';

const BATCH = 500;
/** One tick handles at most this many due instances; the rest wait for the next tick (which comes at once). */
const MAX_PER_TICK = 20_000;

/**
 * The failure-detection sweep: on the elected leader only, every
 * DETECTOR_SWEEP_MS, it reads the instances whose deadline has come (a sorted
 * set, so the cost follows what is due, not how many instances exist) and
 * moves them along UP → SUSPECT → DOWN.
 *
 * Guards keep a problem of Ninefold's own from being reported as instances
 * failing:
 * - silence is judged only up to the ingest watermark, the receive time of the
 *   oldest heartbeat still waiting in the stream (workers behind or down);
 * - while no api replica receives heartbeats (see IngressPresence), silence is
 *   not judged at all: nobody could have received one;
 * - a sweep that comes more than DETECTOR_GAP_TOLERANCE_MS after the previous
 *   one, in a gap during which no api could receive heartbeats (a restart of
 *   the whole control plane, a Redis outage, the pause above), first extends
 *   the deadlines that fell in the gap by its length plus
 *   DETECTOR_RETURN_ALLOWANCE_SECONDS, the time agents need to find the
 *   control plane again and deliver what they buffered. Restarting Ninefold
 *   raises no false SUSPECT or DOWN; a truly silent instance is found that
 *   much later after such a gap. A gap of the sweep alone (a leader change, a
 *   long GC) extends nothing: heartbeats went on arriving, and the watermark
 *   covers those not yet applied;
 * - the mass-silence guard below.
 */
@Injectable()
export class DetectorSweep implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DetectorSweep.name);
  private election!: LeaderElection;
  private conn!: Redis;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  /** UP → SUSPECT changes of the last second, for the mass-silence guard. */
  private recentSilences: { atMs: number; count: number }[] = [];
  private wasHolding = false;
  /** Set while no api receives heartbeats (failure detection paused), to log the pause once. */
  private ingressAwaySince: number | null = null;

  constructor(
    private readonly redis: RedisService,
    private readonly leaders: LeaderElectionService,
    private readonly store: InstanceStore,
    private readonly stream: HeartbeatStream,
    private readonly probes: ProbesService,
    private readonly gossip: GossipEvidenceStore,
    private readonly clusters: ClusterWatch,
    private readonly signals: SignalsService,
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  get tickKey(): string {
    return this.redis.key('det', 'tick');
  }

  /** Set (with an expiry) while a mass silence holds instances at SUSPECT. */
  get holdKey(): string {
    return this.redis.key('det', 'mass-silence');
  }

  onApplicationBootstrap(): void {
    this.election = this.leaders.elect('detector');
    this.conn = this.redis.client;
    this.schedule(this.config.DETECTOR_SWEEP_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .then((more) => this.schedule(more ? 0 : this.config.DETECTOR_SWEEP_MS))
        .catch((err: Error) => {
          this.logger.warn({ err: err.message }, 'failure-detection sweep failed; retrying');
          this.schedule(Math.max(this.config.DETECTOR_SWEEP_MS, 1000));
        });
    }, ms);
  }

  /** One sweep. Returns true when due instances were left for an immediate next tick. */
  async tick(): Promise<boolean> {
    if (!this.election.isLeader) return false;
    const started = performance.now();
    const wall = Date.now();
    const ingress = await this.ingress(wall);
    if (ingress.away) return false;
    const previous = Number(await this.conn.getset(this.tickKey, String(wall))) || 0;
    const watermark = await this.stream.watermarkMs(this.conn);
    const now = watermark === null ? wall : Math.min(wall, watermark - 1);

    // A gap in the sweep matters only if heartbeats could not be received during it (the ingress came back after it
    // began): otherwise they went on arriving, and the watermark covers those not yet applied (a leader change).
    if (previous > 0 && wall - previous > this.config.DETECTOR_GAP_TOLERANCE_MS && ingress.sinceMs > previous) {
      const gap = wall - previous;
      const allowance = this.config.DETECTOR_RETURN_ALLOWANCE_SECONDS * 1000;
      const extended = await this.postponeGap(previous, now, gap + allowance);
      this.logger.warn(
        { gapMs: gap, allowanceMs: allowance, extended },
        `failure detection was not running for ${(gap / 1000).toFixed(1)}s; extended ${extended} deadline(s) by that gap and ${allowance / 1000}s for agents to come back, instead of judging the silence`,
      );
    }

    const holding = (await this.conn.exists(this.holdKey)) === 1;
    if (this.wasHolding && !holding) {
      await this.signals.resolve('mass-silence', 'mass-silence hold lifted; ordinary failure detection resumed', wall);
    }
    this.wasHolding = holding;

    const changes: InstanceChange[] = [];
    let handled = 0;
    let more = false;
    for (;;) {
      const ids = await this.store.due(now, BATCH);
      if (ids.length === 0) break;
      const steps = await this.step(ids, (rec, cur) => this.judge(rec, cur, now, holding));
      changes.push(...steps);
      handled += ids.length;
      if (ids.length < BATCH) break;
      if (handled >= MAX_PER_TICK) {
        more = true;
        break;
      }
    }
    // The changes themselves went to the transitions outbox with each write.
    await this.guardMassSilence(changes, wall);
    await this.clusters.raiseLongLeaderless(wall);
    this.metrics.sweepSeconds.observe((performance.now() - started) / 1000);
    return more;
  }

  /**
   * The ingress presence (see IngressPresence): `away` when no api replica has
   * said it receives heartbeats for longer than DETECTOR_GAP_TOLERANCE_MS (all
   * stopped, or cut off from Redis); then this tick judges nothing and leaves
   * the tick time alone, so the next sweep after their return sees the whole
   * absence as a gap. `sinceMs`: since when without a break; for apis that
   * never wrote the key (older than this version), the present moment, so
   * every gap is extended as before.
   */
  private async ingress(wall: number): Promise<{ away: boolean; sinceMs: number }> {
    const { sinceMs, lastMs: at } = parseIngressPresence(await this.conn.get(ingressPresenceKey(this.redis)));
    const away = at > 0 && wall - at > this.config.DETECTOR_GAP_TOLERANCE_MS;
    if (away && this.ingressAwaySince === null) {
      this.ingressAwaySince = at;
      this.logger.warn({ lastSeenAt: new Date(at).toISOString() }, 'no api is receiving heartbeats: failure detection is paused until one is back');
    } else if (!away && this.ingressAwaySince !== null) {
      this.logger.log({ awayMs: wall - this.ingressAwaySince }, 'an api receives heartbeats again: failure detection resumes');
      this.ingressAwaySince = null;
    }
    return { away, sinceMs: at > 0 ? sinceMs : wall };
  }

  /**
   * The self-health guard against Ninefold's own ingress failing (a broken
   * load balancer, a network problem in front of the api): when more than
   * DETECTOR_MASS_SILENCE_SHARE of all monitored instances go silent within
   * one second, they are held at SUSPECT for DETECTOR_MASS_SILENCE_HOLD_SECONDS
   * and one critical signal is raised instead of thousands of DOWNs.
   */
  private async guardMassSilence(changes: InstanceChange[], nowMs: number): Promise<void> {
    const silenced = changes.filter((c) => c.from === 'UP' && c.to === 'SUSPECT').length;
    this.recentSilences = this.recentSilences.filter((r) => r.atMs > nowMs - 1000);
    if (silenced > 0) this.recentSilences.push({ atMs: nowMs, count: silenced });
    const inLastSecond = this.recentSilences.reduce((n, r) => n + r.count, 0);
    if (inLastSecond === 0) return;
    const monitored = await this.store.countScheduled();
    if (monitored < this.config.DETECTOR_MASS_SILENCE_MIN_INSTANCES || inLastSecond <= this.config.DETECTOR_MASS_SILENCE_SHARE * monitored) return;
    const holdMs = this.config.DETECTOR_MASS_SILENCE_HOLD_SECONDS * 1000;
    await this.conn.set(this.holdKey, String(nowMs), 'PX', holdMs);
    this.wasHolding = true;
    await this.signals.raise({
      kind: 'control_plane.ingress_problem',
      severity: 'critical',
      dedupKey: 'mass-silence',
      message: `control-plane ingress problem: ${inLastSecond} of ${monitored} instances went silent within one second; holding them at SUSPECT for ${holdMs / 1000}s instead of declaring them DOWN. Check the network and load balancer in front of Ninefold.`,
      details: { silent: inLastSecond, monitored },
      atMs: nowMs,
    });
  }

  /** The deadline step, with what the probers said or may say. */
  private async judge(rec: InstanceRecord, cur: StoredInstance, now: number, holding: boolean): Promise<Step> {
    // Held at SUSPECT during a mass silence: look again in a second.
    if (holding && wantsProbe(rec, now)) return { record: { ...rec, deadlineMs: now + 1000 }, transition: null, changed: true };
    const ctx: DeadlineContext = {};
    let undecided = false;
    if (rec.probe !== null && now >= rec.deadlineMs) {
      ctx.probeResults = await this.probes.results(rec.probe);
      undecided = ctx.probeResults.length === 0;
    } else if (wantsProbe(rec, now)) {
      const round = await this.probes.startRound(cur.id, cur.placement);
      if (round) ctx.startProbe = round;
      else undecided = true;
    }
    // No prober settles it: what its gossip peers say is the remaining evidence.
    if (undecided) {
      const gossip = await this.gossip.weigh(cur.placement.name, now);
      if (gossip.reporters > 0) ctx.gossip = gossip;
    }
    return applyDeadline(rec, now, ctx);
  }

  private async postponeGap(from: number, to: number, gap: number): Promise<number> {
    let total = 0;
    for (;;) {
      const ids = await this.conn.zrangebyscore(this.store.deadlinesKey, `(${from}`, to, 'LIMIT', 0, BATCH);
      if (ids.length === 0) return total;
      await this.step(ids, async (rec) => postpone(rec, gap));
      total += ids.length;
      if (ids.length < BATCH) return total;
    }
  }

  /** Applies `fn` to each due instance (compare-and-set, see {@link InstanceStore.updateEach}); returns the state changes made. */
  private async step(ids: string[], fn: (rec: InstanceRecord, cur: StoredInstance) => Promise<Step>): Promise<InstanceChange[]> {
    const { written } = await this.store.updateEach<InstanceChange>(
      ids,
      async (id, cur) => {
        if (!cur) {
          // A deadline without an instance (deregistered meanwhile).
          await this.conn.zrem(this.store.deadlinesKey, id);
          return null;
        }
        const s = await fn(cur.record, cur);
        if (!s.changed) {
          // Not due after all: put its sorted-set entry back in line with the record so it does not come back every tick.
          if (cur.record.deadlineMs === 0) await this.conn.zrem(this.store.deadlinesKey, id);
          else await this.conn.zadd(this.store.deadlinesKey, cur.record.deadlineMs, id);
          return null;
        }
        if (!s.transition) return { record: s.record };
        const flap = flapAfter(cur.flap, s.transition, s.transition.atMs);
        return { record: s.record, extras: { flap }, changes: [instanceChange(s.transition, id, s.record, cur.placement, isFlapping(flap, s.transition.atMs))] };
      },
      5,
    );
    return written.flatMap((w) => w.changes ?? []);
  }
}
