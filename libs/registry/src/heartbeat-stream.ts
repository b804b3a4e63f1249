import { Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DomainError, ErrorCode, InjectConfig, MetricsService, type NinefoldConfig, RedisService, type StreamEntry, StreamGroup, streamIdMs } from '#core';
import { type Heartbeat, parseHeartbeats } from './heartbeat.js';

/** One accepted request: its heartbeats, received at the stream entry's time. */
export interface IngestEntry {
  /** Redis stream id, `<ms>-<seq>`: unique, ordered, and the receive time. */
  streamId: string;
  receivedMs: number;
  heartbeats: Heartbeat[];
}

export const DRAIN_GROUP = 'drain';

/**
 * The durable hand-off between the api and the workers: a Redis stream with
 * one entry per accepted request. `202 Accepted` is answered once XADD has
 * returned, so a heartbeat survives a crash of the api; the workers read the
 * stream in a consumer group and acknowledge an entry only after it is in
 * Postgres, so it also survives a crash of a worker.
 */
@Injectable()
export class HeartbeatStream {
  private readonly logger = new Logger(HeartbeatStream.name);
  readonly key: string;
  readonly group: StreamGroup;
  private backlog = { length: 0, checkedAt: 0 };

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {
    this.key = redis.key('hb', 'stream');
    this.group = new StreamGroup(this.key, DRAIN_GROUP);
  }

  /**
   * A heartbeat request body, validated (one bad item rejects the batch with
   * every problem named) and appended; resolves with how many were accepted
   * once Redis has them.
   */
  async accept(body: unknown): Promise<number> {
    const parsed = parseHeartbeats(body, Date.now());
    if (!parsed.ok) throw new DomainError(ErrorCode.Invalid, parsed.errors);
    await this.append(parsed.heartbeats);
    this.metrics.heartbeatsAccepted.inc(parsed.heartbeats.length);
    return parsed.heartbeats.length;
  }

  /** Appends one accepted request; resolves once Redis has it. */
  async append(heartbeats: Heartbeat[]): Promise<string> {
    await this.refuseWhenBacklogFull();
    const id = await this.redis.client.xadd(this.key, '*', 'b', JSON.stringify(heartbeats));
    if (!id) throw new Error('XADD returned no id');
    return id;
  }

  /**
   * When the workers cannot keep up or are all down, the stream would grow
   * until Redis runs out of memory and refuses everything. Refusing new
   * heartbeats with 503 (agents retry) keeps what was accepted safe. The
   * length is read at most once a second.
   */
  private async refuseWhenBacklogFull(): Promise<void> {
    const now = Date.now();
    if (now - this.backlog.checkedAt > 1000) {
      this.backlog = { length: await this.redis.client.xlen(this.key), checkedAt: now };
    }
    if (this.backlog.length >= this.config.INGEST_BACKLOG_MAX) {
      this.logger.warn({ backlog: this.backlog.length }, 'heartbeat backlog full; refusing heartbeats until the workers catch up');
      throw new DomainError(ErrorCode.Unavailable, 'heartbeat backlog is full (workers are behind or down); retry shortly', 5);
    }
  }

  /**
   * The receive time of the oldest heartbeat not yet drained (pending or not
   * yet delivered), or null when the stream is drained. The sweep judges
   * silence only up to this time: a heartbeat still in the stream was heard.
   */
  async watermarkMs(conn: Redis): Promise<number | null> {
    // Acknowledged entries are deleted in the same step (XACK + XDEL), so the
    // first entry left is the oldest one pending or not yet delivered.
    const first = await conn.xrange(this.key, '-', '+', 'COUNT', 1);
    return first.length > 0 ? streamIdMs(first[0][0]) : null;
  }
}

/** A stream entry as the heartbeats of one accepted request. */
export function toIngestEntry(e: StreamEntry): IngestEntry {
  return { streamId: e.id, receivedMs: streamIdMs(e.id), heartbeats: JSON.parse(e.fields.b) as Heartbeat[] };
}
