import { Injectable } from '@nestjs/common';
import { InjectConfig, type NinefoldConfig, RedisService } from '#core';
import { RealtimeEvent, RealtimePublisher } from '#realtime';
import { clusterView, electionsInWindow } from './cluster.js';
import { InstanceStore } from './instance-store.js';
import { SignalsService } from './signals.service.js';

/** The current leader of a cluster as the API shows it. */
export interface ClusterLeader {
  id: string;
  term: number | null;
  since: string;
}

/**
 * Watches services whose members report consensus roles: the current leader,
 * "no leader" for longer than CLUSTER_NO_LEADER_SECONDS, "split brain" (two
 * live leaders in one term) and "leader churn" (more than CLUSTER_CHURN_MAX
 * elections within CLUSTER_CHURN_WINDOW_SECONDS), each raised as a signal.
 */
@Injectable()
export class ClusterWatch {
  constructor(
    private readonly redis: RedisService,
    private readonly store: InstanceStore,
    private readonly signals: SignalsService,
    private readonly publisher: RealtimePublisher,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  private leaderKey(serviceId: string): string {
    return this.redis.key('svc', serviceId, 'leader');
  }

  private electionsKey(serviceId: string): string {
    return this.redis.key('svc', serviceId, 'elections');
  }

  get leaderlessKey(): string {
    return this.redis.key('det', 'leaderless');
  }

  /** Services some member of which has reported a consensus role: the only ones worth evaluating. */
  get clustersKey(): string {
    return this.redis.key('det', 'clusters');
  }

  /** Marks a service as a consensus cluster (a member reported a role or term). */
  async markCluster(serviceId: string): Promise<void> {
    await this.redis.client.sadd(this.clustersKey, serviceId);
  }

  async leaderOf(serviceId: string): Promise<ClusterLeader | null> {
    const h = await this.redis.client.hgetall(this.leaderKey(serviceId));
    return h.id ? { id: h.id, term: h.term ? Number(h.term) : null, since: new Date(Number(h.since)).toISOString() } : null;
  }

  /** Re-reads the members of these services and updates leader, split-brain, churn and leaderless state. */
  async evaluate(serviceIds: string[], nowMs: number): Promise<void> {
    if (serviceIds.length === 0) return;
    const isCluster = await this.redis.client.smismember(this.clustersKey, ...serviceIds);
    for (const serviceId of serviceIds.filter((_, i) => isCluster[i] === 1)) {
      const members = [...(await this.store.load(await this.store.memberIds(serviceId))).values()];
      if (members.length === 0) continue;
      const view = clusterView(members.map((m) => ({ name: m.placement.name, state: m.record.state, role: m.role, term: m.term })));
      if (!view.hasRoles) continue;
      const service = members[0].placement.service;
      const base = { serviceId, service, atMs: nowMs };

      if (view.splitBrain) {
        await this.signals.raise({
          ...base,
          kind: 'cluster.split_brain',
          severity: 'critical',
          dedupKey: `split:${serviceId}:${view.splitBrain.term}`,
          message: `${service}: split brain: ${view.splitBrain.members.join(' and ')} both claim leadership${view.splitBrain.term !== null ? ` in term ${view.splitBrain.term}` : ''}`,
          details: { term: view.splitBrain.term, members: view.splitBrain.members },
        });
      }

      const previous = await this.leaderOf(serviceId);
      if (view.leader) {
        await this.redis.client.zrem(this.leaderlessKey, serviceId);
        await this.signals.resolve(`leaderless:${serviceId}`, `${service} has a leader again: ${view.leader.name}`, nowMs);
        if (!previous || previous.id !== view.leader.name || previous.term !== view.leader.term) {
          await this.redis.client.hset(this.leaderKey(serviceId), 'id', view.leader.name, 'term', view.leader.term === null ? '' : String(view.leader.term), 'since', nowMs);
          await this.publisher.publish(RealtimeEvent.ServiceState, { name: service, leader: { id: view.leader.name, term: view.leader.term }, previousLeader: previous?.id ?? null, at: new Date(nowMs).toISOString() });
          if (previous) await this.countElection(serviceId, service, nowMs);
        }
      } else {
        if (previous) await this.redis.client.del(this.leaderKey(serviceId));
        // Raised by the sweep once it has lasted CLUSTER_NO_LEADER_SECONDS (elections take a moment).
        await this.redis.client.zadd(this.leaderlessKey, 'NX', String(nowMs), serviceId);
      }
    }
  }

  private async countElection(serviceId: string, service: string, nowMs: number): Promise<void> {
    const windowMs = this.config.CLUSTER_CHURN_WINDOW_SECONDS * 1000;
    const key = this.electionsKey(serviceId);
    await this.redis.client.multi().zadd(key, nowMs, String(nowMs)).zremrangebyscore(key, '-inf', nowMs - windowMs).expire(key, this.config.CLUSTER_CHURN_WINDOW_SECONDS).exec();
    const times = electionsInWindow((await this.redis.client.zrange(key, '0', '-1')).map(Number), nowMs, windowMs);
    if (times.length > this.config.CLUSTER_CHURN_MAX) {
      await this.signals.raise({
        serviceId,
        service,
        atMs: nowMs,
        kind: 'cluster.leader_churn',
        severity: 'warning',
        dedupKey: `churn:${serviceId}`,
        message: `${service}: leader churn: ${times.length} elections in the last ${Math.round(windowMs / 60_000)} minutes`,
        details: { elections: times.length },
      });
    }
  }

  /** Called by the sweep: clusters leaderless for longer than allowed raise "no leader". */
  async raiseLongLeaderless(nowMs: number): Promise<void> {
    const limit = nowMs - this.config.CLUSTER_NO_LEADER_SECONDS * 1000;
    const due = await this.redis.client.zrangebyscore(this.leaderlessKey, '-inf', limit, 'WITHSCORES');
    for (let i = 0; i < due.length; i += 2) {
      const serviceId = due[i];
      const since = Number(due[i + 1]);
      // Raised once, not on every tick: the signal stays open until a leader appears ({@link evaluate} resolves it).
      await this.redis.client.zrem(this.leaderlessKey, serviceId);
      // The service's name, from any one member.
      const [anyMember] = await this.redis.client.srandmember(this.store.membersKey(serviceId), 1);
      const service = anyMember ? (await this.store.load([anyMember])).get(anyMember)?.placement.service : undefined;
      if (!service) continue;
      await this.signals.raise({
        serviceId,
        service,
        atMs: nowMs,
        kind: 'cluster.no_leader',
        severity: 'critical',
        dedupKey: `leaderless:${serviceId}`,
        message: `${service}: no leader for ${Math.round((nowMs - since) / 1000)}s`,
        details: { since: new Date(since).toISOString() },
      });
    }
  }
}
