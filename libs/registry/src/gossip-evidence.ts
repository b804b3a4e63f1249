import { Injectable } from '@nestjs/common';
import { RedisService } from '#core';
import type { PeerView } from './heartbeat.js';

/** A peer's report counts for this long (a few gossip suspicion timeouts). */
export const GOSSIP_EVIDENCE_WINDOW_MS = 30_000;

/** What the gossip peers of a silent instance say of it. */
export interface GossipEvidence {
  /** Peers that reported it alive within the window. */
  alive: number;
  /** Peers that reported on it at all within the window (alive, suspect or dead). */
  reporters: number;
}

/**
 * Reports as stored: reporter → receive time, negative when the reporter saw
 * the instance suspect or dead. Counts only recent reports, never the
 * instance's word about itself.
 */
export function weighGossip(reports: Record<string, string>, instance: string, nowMs: number, windowMs = GOSSIP_EVIDENCE_WINDOW_MS): GossipEvidence {
  let alive = 0;
  let reporters = 0;
  for (const [reporter, raw] of Object.entries(reports)) {
    if (reporter === instance) continue;
    const v = Number(raw);
    if (!Number.isFinite(v) || nowMs - Math.abs(v) > windowMs) continue;
    reporters++;
    if (v > 0) alive++;
  }
  return { alive, reporters };
}

/**
 * The agents' gossip views, as evidence about each other: a heartbeat may
 * carry its agent's view of the group (`peers`), and when an instance falls
 * silent and no prober settles it, a majority of its peers still seeing it
 * alive marks its heartbeat path broken rather than the host dead.
 */
@Injectable()
export class GossipEvidenceStore {
  constructor(private readonly redis: RedisService) {}

  private key(instance: string): string {
    return this.redis.key('gossip', 'seen', instance);
  }

  /** Records views carried by heartbeats (reporter = the sending agent's instance). */
  async record(views: { reporter: string; peers: PeerView; receivedMs: number }[]): Promise<void> {
    if (views.length === 0) return;
    const pipe = this.redis.client.pipeline();
    const ttlSeconds = Math.ceil((GOSSIP_EVIDENCE_WINDOW_MS * 4) / 1000);
    for (const { reporter, peers, receivedMs } of views) {
      for (const name of peers.alive) if (name !== reporter) pipe.hset(this.key(name), reporter, String(receivedMs)).expire(this.key(name), ttlSeconds);
      for (const name of [...peers.suspect, ...peers.dead]) if (name !== reporter) pipe.hset(this.key(name), reporter, String(-receivedMs)).expire(this.key(name), ttlSeconds);
    }
    await pipe.exec();
  }

  async weigh(instance: string, nowMs: number): Promise<GossipEvidence> {
    return weighGossip(await this.redis.client.hgetall(this.key(instance)), instance, nowMs);
  }
}
