import { randomUUID } from 'node:crypto';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DomainError, ErrorCode, InjectConfig, type NinefoldConfig, type Principal, RedisService } from '#core';
import { type CheckIdentity, CheckResults } from './checks/check-results.service.js';
import type { ProbeResult } from './instance-state.js';
import { type InstancePlacement, InstanceStore } from './instance-store.js';

/** What a prober is asked to do. */
export interface ProbeTask {
  id: string;
  type: 'tcp' | 'http';
  target: string;
  timeoutMs: number;
}

export interface ProberIdentity {
  /** Distinguishes several probers sharing one key. */
  name: string;
  zone?: string;
  region?: string;
}

/** A prober that has polled within this window counts as connected. */
const CONNECTED_WINDOW_MS = 30_000;
/** Probers asked per round. */
const PROBERS_PER_ROUND = 3;
/** A round's window: the probe's own timeout plus time for the long poll to wake and the answer to arrive. */
const ANSWER_SLACK_MS = 3000;
const TASK_TTL_S = 300;

/**
 * Quorum confirmation of silent instances by prober agents. The detection
 * sweep starts a round when a SUSPECT instance's grace runs out: up to three
 * connected probers, spread over zones, each get a task on their queue (a
 * Redis list) and are woken through pub/sub from their long poll
 * (`GET /api/v1/probe-tasks?wait=20`). Their answers land in the round's hash;
 * when the last one arrives the instance is made due at once, otherwise the
 * sweep decides when the window closes.
 */
@Injectable()
export class ProbesService implements OnApplicationShutdown {
  private subscriber: Redis | null = null;
  private readonly waiters = new Map<string, Set<() => void>>();
  private closing = false;

  constructor(
    private readonly redis: RedisService,
    private readonly store: InstanceStore,
    @InjectConfig() private readonly config: NinefoldConfig,
    private readonly checkResults: CheckResults,
  ) {}

  private key(...parts: string[]): string {
    return this.redis.key('probe', ...parts);
  }

  private get probersKey(): string {
    return this.redis.key('probers');
  }

  // ── prober side (api) ────────────────────────────────────────────────

  /** The long poll: tasks for this prober, waiting up to `waitSeconds` for some. */
  async poll(principal: Principal, who: ProberIdentity, waitSeconds: number): Promise<ProbeTask[]> {
    const proberId = `${principal.keyId}:${who.name}`;
    const deadline = Date.now() + waitSeconds * 1000;
    await this.redis.client
      .multi()
      .zadd(this.probersKey, Date.now(), proberId)
      .hset(this.key('prober', proberId), 'zone', who.zone ?? '', 'region', who.region ?? '', 'name', who.name)
      .expire(this.key('prober', proberId), 3600)
      .exec();
    this.ensureSubscriber();
    for (;;) {
      const tasks = await this.take(proberId);
      if (tasks.length > 0 || Date.now() >= deadline || this.closing) return tasks;
      // Wait for a notification, at most 5 s at a time so the prober stays marked connected.
      await new Promise<void>((resolve) => {
        const set = this.waiters.get(proberId) ?? new Set();
        this.waiters.set(proberId, set);
        const done = () => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0) this.waiters.delete(proberId);
          resolve();
        };
        const timer = setTimeout(done, Math.min(5000, Math.max(0, deadline - Date.now())));
        set.add(done);
      });
      await this.redis.client.zadd(this.probersKey, Date.now(), proberId);
    }
  }

  /** A prober's answer. Only a prober of the key the task was given to may answer it. */
  async submit(principal: Principal, taskId: string, result: { reachable: boolean; latencyMs?: number; error?: string }): Promise<void> {
    const task = await this.redis.client.hgetall(this.key('task', taskId));
    const proberId = task.prober ?? '';
    if ((!task.round && !task.check) || !proberId.startsWith(`${principal.keyId}:`)) {
      throw new DomainError(ErrorCode.NotFound, `probe task ${taskId} not found (unknown, expired, or given to another prober)`);
    }
    await this.redis.client.del(this.key('task', taskId));
    if (task.check) {
      // A pull check run by a prober: its result is a heartbeat of the check's instance.
      const identity = JSON.parse(task.check) as CheckIdentity;
      await this.checkResults.record(identity, { ok: result.reachable, latencyMs: result.latencyMs ?? 0, ...(result.error ? { error: result.error } : {}) }, `prober:${proberId}`);
      return;
    }
    const roundKey = this.key('round', task.round);
    const [, answered, expected] = (await this.redis.client
      .multi()
      .hset(roundKey, `p:${proberId}`, JSON.stringify({ reachable: result.reachable, latencyMs: result.latencyMs ?? null, error: result.error ?? null }))
      .hlen(roundKey)
      .hget(roundKey, '_expected')
      .exec())!.map(([, v]) => v) as [unknown, number, string | null];
    // Everyone answered: the sweep need not wait for the window to close.
    if (answered - 2 >= Number(expected)) await this.makeDue(task.instance, task.round);
  }

  private async take(proberId: string): Promise<ProbeTask[]> {
    const ids = (await this.redis.client.lpop(this.key('q', proberId), 50)) ?? [];
    if (ids.length === 0) return [];
    const p = this.redis.client.pipeline();
    for (const id of ids) p.hgetall(this.key('task', id));
    const rows = (await p.exec()) ?? [];
    const tasks: ProbeTask[] = [];
    rows.forEach(([, h], i) => {
      const t = h as Record<string, string>;
      if (t.round || t.check) tasks.push({ id: ids[i], type: t.type as 'tcp' | 'http', target: t.target, timeoutMs: Number(t.timeoutMs) });
    });
    return tasks;
  }

  private async makeDue(instanceId: string, roundId: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = (await this.store.load([instanceId])).get(instanceId);
      if (!cur || cur.record.probe !== roundId) return;
      if (await this.store.compareAndSet(instanceId, cur.version, { ...cur.record, deadlineMs: Date.now() })) return;
    }
  }

  private ensureSubscriber(): void {
    if (this.subscriber) return;
    this.subscriber = this.redis.connect('probe-notify');
    void this.subscriber.subscribe(this.key('notify')).catch(() => undefined);
    this.subscriber.on('message', (_channel: string, proberId: string) => {
      for (const wake of [...(this.waiters.get(proberId) ?? [])]) wake();
    });
    // Missed notifications while disconnected: wake everyone to look at their queue.
    this.subscriber.on('ready', () => this.wakeAll());
  }

  private wakeAll(): void {
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
  }

  onApplicationShutdown(): void {
    this.closing = true;
    this.wakeAll();
  }

  // ── sweep side (worker) ──────────────────────────────────────────────

  /**
   * Starts a round for an instance, or returns null when it cannot be
   * probed (no address and port, or no prober connected).
   */
  async startRound(instanceId: string, placement: InstancePlacement): Promise<{ roundId: string; windowMs: number } | null> {
    if (!placement.address || !placement.port) return null;
    const now = Date.now();
    const ids = await this.redis.client.zrangebyscore(this.probersKey, now - CONNECTED_WINDOW_MS, '+inf');
    if (ids.length === 0) return null;
    const info = await Promise.all(ids.map(async (id) => ({ id, zone: (await this.redis.client.hget(this.key('prober', id), 'zone')) ?? '' })));
    const chosen = spreadOverZones(info, PROBERS_PER_ROUND);
    const roundId = randomUUID();
    const timeoutMs = this.config.PROBE_TIMEOUT_MS;
    const target = `${placement.address.includes(':') ? `[${placement.address}]` : placement.address}:${placement.port}`;
    const m = this.redis.client.multi();
    m.hset(this.key('round', roundId), '_expected', chosen.length, '_instance', instanceId);
    m.expire(this.key('round', roundId), TASK_TTL_S);
    for (const p of chosen) {
      const taskId = randomUUID();
      m.hset(this.key('task', taskId), 'round', roundId, 'prober', p.id, 'instance', instanceId, 'type', 'tcp', 'target', target, 'timeoutMs', timeoutMs);
      m.expire(this.key('task', taskId), TASK_TTL_S);
      m.rpush(this.key('q', p.id), taskId);
      m.expire(this.key('q', p.id), TASK_TTL_S);
      m.publish(this.key('notify'), p.id);
    }
    await m.exec();
    return { roundId, windowMs: timeoutMs + ANSWER_SLACK_MS };
  }

  /** Gives one run of a prober-run check to a connected prober (at random); the task carries what its result is reported as, so an answer needs no lookup. False when no prober is connected. */
  async startCheckTask(check: CheckIdentity, spec: { type: 'http' | 'tcp'; target: string; timeoutMs: number }): Promise<boolean> {
    const ids = await this.redis.client.zrangebyscore(this.probersKey, Date.now() - CONNECTED_WINDOW_MS, '+inf');
    if (ids.length === 0) return false;
    const prober = ids[Math.floor(Math.random() * ids.length)];
    const taskId = randomUUID();
    await this.redis.client
      .multi()
      .hset(this.key('task', taskId), 'check', JSON.stringify(check), 'prober', prober, 'type', spec.type, 'target', spec.target, 'timeoutMs', spec.timeoutMs)
      .expire(this.key('task', taskId), TASK_TTL_S)
      .rpush(this.key('q', prober), taskId)
      .expire(this.key('q', prober), TASK_TTL_S)
      .publish(this.key('notify'), prober)
      .exec();
    return true;
  }

  /** The answers of a round so far. */
  async results(roundId: string): Promise<ProbeResult[]> {
    const h = await this.redis.client.hgetall(this.key('round', roundId));
    return Object.entries(h)
      .filter(([k]) => k.startsWith('p:'))
      .map(([, v]) => ({ reachable: (JSON.parse(v) as { reachable: boolean }).reachable }));
  }

  async connectedProbers(): Promise<number> {
    return this.redis.client.zcount(this.probersKey, Date.now() - CONNECTED_WINDOW_MS, '+inf');
  }
}

/** Up to `n` probers, one per zone before a second from any zone; random within a zone so load spreads. */
export function spreadOverZones<T extends { zone: string }>(probers: T[], n: number): T[] {
  const byZone = new Map<string, T[]>();
  for (const p of [...probers].sort(() => Math.random() - 0.5)) {
    const list = byZone.get(p.zone) ?? [];
    list.push(p);
    byZone.set(p.zone, list);
  }
  const out: T[] = [];
  const zones = [...byZone.values()];
  for (let round = 0; out.length < n && zones.some((z) => z.length > round); round++) {
    for (const z of zones) if (z[round] && out.length < n) out.push(z[round]);
  }
  return out;
}
