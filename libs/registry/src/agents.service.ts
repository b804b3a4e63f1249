import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, PrismaService, RedisService } from '#core';
import { InstanceStore } from './instance-store.js';

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
  /** The later of its last report and its last heartbeat. */
  lastSeenAt: string;
  /** When it last reported itself (once a minute). */
  lastReportAt: string;
  /** The last heartbeat of any of its services' instances, from the live state. */
  lastHeartbeatAt: string | null;
  /** Heard from (a report or a heartbeat) within {@link AGENT_CONNECTED_SECONDS}. */
  connected: boolean;
}

/** What the agents hash holds per agent. */
type StoredReport = AgentReport & { instance: string; lastReportAt: string };

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
  constructor(
    private readonly redis: RedisService,
    private readonly prisma: PrismaService,
    private readonly instances: InstanceStore,
  ) {}

  private get key(): string {
    return this.redis.key('agents');
  }

  async report(instance: string, report: AgentReport): Promise<AgentView> {
    const at = new Date().toISOString();
    const stored: StoredReport = { instance, ...report, lastReportAt: at };
    await this.redis.client.hset(this.key, instance, JSON.stringify(stored));
    return { ...stored, lastSeenAt: at, lastHeartbeatAt: null, connected: true };
  }

  async list(): Promise<AgentView[]> {
    const now = Date.now();
    const all = await this.redis.client.hgetall(this.key);
    const reports: StoredReport[] = [];
    const forget: string[] = [];
    for (const [instance, raw] of Object.entries(all)) {
      // Reports stored before lastReportAt existed were whole views: the report time was lastSeenAt.
      const { lastSeenAt, connected: _connected, ...v } = JSON.parse(raw) as StoredReport & { lastSeenAt?: string; connected?: boolean };
      const r: StoredReport = { ...v, lastReportAt: v.lastReportAt ?? (lastSeenAt as string) };
      if (now - Date.parse(r.lastReportAt) > FORGET_AFTER_MS) forget.push(instance);
      else reports.push(r);
    }
    if (forget.length > 0) await this.redis.client.hdel(this.key, ...forget);
    const beats = await this.lastHeartbeats(reports);
    return reports
      .map((r): AgentView => {
        const beat = beats.get(r.instance) ?? null;
        const seen = Math.max(Date.parse(r.lastReportAt), beat ?? 0);
        return { ...r, lastSeenAt: new Date(seen).toISOString(), lastHeartbeatAt: beat === null ? null : new Date(beat).toISOString(), connected: now - seen <= AGENT_CONNECTED_SECONDS * 1000 };
      })
      .sort((a, b) => a.instance.localeCompare(b.instance));
  }

  /**
   * Each agent's last heartbeat (ms), over the instances it heartbeats (its
   * instance id in each of its services), from the live state: the report
   * comes once a minute, heartbeats every few seconds.
   */
  private async lastHeartbeats(reports: StoredReport[]): Promise<Map<string, number>> {
    const wanted = new Set(reports.flatMap((r) => r.services.map((s) => `${s}\u0000${r.instance}`)));
    if (wanted.size === 0) return new Map();
    const rows = await this.prisma.instance.findMany({
      where: { name: { in: reports.map((r) => r.instance) }, service: { name: { in: [...new Set(reports.flatMap((r) => r.services))] } } },
      select: { id: true, name: true, service: { select: { name: true } } },
    });
    const mine = rows.filter((row) => wanted.has(`${row.service.name}\u0000${row.name}`));
    const live = await this.instances.load(mine.map((row) => row.id));
    const out = new Map<string, number>();
    for (const row of mine) {
      const at = live.get(row.id)?.record.lastSeenMs;
      if (at && at > (out.get(row.name) ?? 0)) out.set(row.name, at);
    }
    return out;
  }

  async remove(instance: string): Promise<void> {
    if ((await this.redis.client.hdel(this.key, instance)) === 0) throw new DomainError(ErrorCode.NotFound, `no agent ${instance}`);
  }
}
