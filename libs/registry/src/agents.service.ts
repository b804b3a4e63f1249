import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, RedisService } from '#core';

/** What an agent reports of itself (PUT /api/v1/agents/:instance). */
export interface AgentReport {
  version: string;
  services: string[];
  prober: boolean;
  zone?: string;
  region?: string;
  address?: string;
  /** Heartbeats waiting, sent, dropped (buffer full) and rejected since the agent started. */
  queue: { waiting: number; sent: number; dropped: number; rejected: number };
  startedAt: string;
  lastSuccessAt: string | null;
  gossip?: { group: string; alive: number; members: number };
}

export interface AgentView extends AgentReport {
  instance: string;
  lastSeenAt: string;
  /** Reported within {@link AGENT_CONNECTED_SECONDS}. */
  connected: boolean;
}

/** An agent reports every minute; one silent for longer than this shows as disconnected. */
export const AGENT_CONNECTED_SECONDS = 180;
/** Agents silent for a week are forgotten. */
const FORGET_AFTER_MS = 7 * 24 * 3600 * 1000;

/**
 * The agents installed on users' hosts, as they report themselves (version,
 * services, prober mode, buffer and dropped counts): what the dashboard's
 * Agents page shows. Kept in one Redis hash; no Postgres round trip per report.
 */
@Injectable()
export class AgentsService {
  constructor(private readonly redis: RedisService) {}

  private get key(): string {
    return this.redis.key('agents');
  }

  async report(instance: string, report: AgentReport): Promise<AgentView> {
    const view: AgentView = { instance, ...report, lastSeenAt: new Date().toISOString(), connected: true };
    await this.redis.client.hset(this.key, instance, JSON.stringify(view));
    return view;
  }

  async list(): Promise<AgentView[]> {
    const now = Date.now();
    const all = await this.redis.client.hgetall(this.key);
    const out: AgentView[] = [];
    const forget: string[] = [];
    for (const [instance, raw] of Object.entries(all)) {
      const v = JSON.parse(raw) as AgentView;
      const age = now - Date.parse(v.lastSeenAt);
      if (age > FORGET_AFTER_MS) forget.push(instance);
      else out.push({ ...v, connected: age <= AGENT_CONNECTED_SECONDS * 1000 });
    }
    if (forget.length > 0) await this.redis.client.hdel(this.key, ...forget);
    return out.sort((a, b) => a.instance.localeCompare(b.instance));
  }

  async remove(instance: string): Promise<void> {
    if ((await this.redis.client.hdel(this.key, instance)) === 0) throw new DomainError(ErrorCode.NotFound, `no agent ${instance}`);
  }
}
