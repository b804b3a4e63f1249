import { Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DomainError, ErrorCode, InjectConfig, MetricsService, type NinefoldConfig, RedisService, type StreamEntry, StreamGroup, streamIdMs } from '#core';
import { type Heartbeat, parseHeartbeats } from './heartbeat.js';
import { heartbeatItemsJson, heartbeatsJson } from './heartbeat-json.js';

/** One accepted request: its heartbeats, received at the stream entry's time. */
export interface IngestEntry {
  /** Redis stream id, `<ms>-<seq>`: unique, ordered, and the receive time. */
  streamId: string;
  receivedMs: number;
  heartbeats: Heartbeat[];
}

export const DRAIN_GROUP = 'drain';

/** Requests coalesced into one stream entry stop adding up at this many heartbeats (one request may bring up to 1,000). */
export const ENTRY_MAX_HEARTBEATS = 1000;

/** How long an `Idempotency-Key` of a heartbeat request is remembered. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * KEYS: idempotency key, stream. ARGV: ttl seconds, JSON body, heartbeat count.
 * Returns {1, count} when appended, {0, first count} for a repeat.
 */
const APPEND_ONCE_LUA = `
local first = redis.call('GET', KEYS[1])
if first then return {0, first} end
redis.call('XADD', KEYS[2], '*', 'b', ARGV[2])
redis.call('SET', KEYS[1], ARGV[3], 'EX', tonumber(ARGV[1]))
return {1, ARGV[3]}
`;

interface PendingAppend {
  /** The request's heartbeats as JSON array items, without the brackets ({@link heartbeatItemsJson}). */
  items: string;
  count: number;
  received: boolean;
  /** Called once, with null when the entry is in Redis. */
  done: (err: unknown) => void;
}

/** What a heartbeat request got: how many heartbeats were accepted, and whether it repeated an earlier request's Idempotency-Key. */
export interface Received {
  accepted: number;
  replayed: boolean;
}

/**
 * The durable hand-off between the api and the workers: a Redis stream whose
 * entries hold the heartbeats of one or more accepted requests. `202 Accepted` is answered once XADD has
 * returned, so a heartbeat survives a crash of the api; the workers read the
 * stream in a consumer group and acknowledge an entry only after it is in
 * Postgres, so it also survives a crash of a worker.
 */
@Injectable()
export class HeartbeatStream {
  private readonly logger = new Logger(HeartbeatStream.name);
  readonly key: string;
  /** Ids of entries whose heartbeats are in live state (sorted set, scored by receive time): {@link markApplied}. */
  readonly appliedKey: string;
  readonly group: StreamGroup;
  private backlog = { full: false, checkedAt: 0 };
  private pending: PendingAppend[] = [];
  private writer?: Redis;

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {
    this.key = redis.key('hb', 'stream');
    this.appliedKey = redis.key('hb', 'applied');
    this.group = new StreamGroup(this.key, DRAIN_GROUP);
  }

  /**
   * A heartbeat request body, validated (one bad item rejects the batch with
   * every problem named) and appended; resolves with how many were accepted
   * once Redis has them.
   *
   * With an `Idempotency-Key` (`idempotency`), the first request with that key
   * (within `scope`, the caller's API key) is appended, and a repeat within
   * {@link IDEMPOTENCY_TTL_SECONDS} is answered with the first one's count
   * without appending anything (`replayed`). Agents resend a batch with the
   * same key when they could not tell whether it arrived, so a resend never
   * stores a heartbeat twice. The check and the append are one Lua script, so
   * a crash cannot split them.
   */
  receive(body: unknown, idempotency?: { scope: string; key: string }): Promise<Received> {
    return new Promise((resolve, reject) => this.receiveThen(body, idempotency, (err, r) => (err === null ? resolve(r as Received) : reject(err))));
  }

  /**
   * {@link receive} with a callback instead of a promise, for the heartbeat
   * route (where each promise shows in the throughput). `done` is called
   * once: at once (synchronously) when the body is invalid or the backlog is
   * full, else when Redis has answered.
   */
  receiveThen(body: unknown, idempotency: { scope: string; key: string } | undefined, done: (err: unknown, r?: Received) => void): void {
    let heartbeats: Heartbeat[];
    try {
      if (idempotency && !IDEMPOTENCY_KEY.test(idempotency.key)) throw new DomainError(ErrorCode.Invalid, ['Idempotency-Key must be 1 to 255 visible ASCII characters']);
      const parsed = parseHeartbeats(body, Date.now());
      if (!parsed.ok) throw new DomainError(ErrorCode.Invalid, parsed.errors);
      heartbeats = parsed.heartbeats;
    } catch (err) {
      done(err);
      return;
    }
    if (idempotency) {
      this.appendOnce(heartbeats, idempotency).then((r) => done(null, r), done);
      return;
    }
    const accepted = { accepted: heartbeats.length, replayed: false };
    this.enqueue(heartbeats, true, (err) => (err === null ? done(null, accepted) : done(err)));
  }

  private async appendOnce(heartbeats: Heartbeat[], idempotency: { scope: string; key: string }): Promise<Received> {
    this.refuseWhenBacklogFull();
    const conn = this.appender() as Redis & { appendOnce(idemKey: string, stream: string, ttl: number, body: string, count: number): Promise<[number, string]> };
    const idemKey = this.redis.key('hb', 'idem', idempotency.scope, idempotency.key);
    const [appended, count] = await conn.appendOnce(idemKey, this.key, IDEMPOTENCY_TTL_SECONDS, heartbeatsJson(heartbeats), heartbeats.length);
    if (appended === 1) this.metrics.heartbeatsAccepted.inc(heartbeats.length);
    return { accepted: Number(count), replayed: appended !== 1 };
  }

  /**
   * Appends one accepted request; resolves once Redis has it.
   *
   * Requests that arrive in the same turn of the event loop share one stream
   * entry (up to {@link ENTRY_MAX_HEARTBEATS} heartbeats each): under load
   * that is one XADD for dozens of requests instead of one each, which is
   * most of what Redis spends on ingest. Each request still gets its answer
   * only after the entry holding it is in Redis.
   */
  append(heartbeats: Heartbeat[]): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue(heartbeats, false, (err) => (err === null ? resolve() : reject(err))));
  }

  /**
   * {@link append} with a callback; `received` heartbeats (from a request, not a pull check) count in
   * `ninefold_heartbeats_accepted_total`, once per XADD.
   */
  private enqueue(heartbeats: Heartbeat[], received: boolean, done: (err: unknown) => void): void {
    if (heartbeats.length === 0) return done(null);
    try {
      this.refuseWhenBacklogFull();
    } catch (err) {
      return done(err);
    }
    this.pending.push({ items: heartbeatItemsJson(heartbeats), count: heartbeats.length, received, done });
    if (this.pending.length === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const waiting = this.pending;
    this.pending = [];
    let i = 0;
    while (i < waiting.length) {
      const group = [waiting[i++]];
      let count = group[0].count;
      while (i < waiting.length && count + waiting[i].count <= ENTRY_MAX_HEARTBEATS) {
        count += waiting[i].count;
        group.push(waiting[i++]);
      }
      let body = `[${group[0].items}`;
      for (let j = 1; j < group.length; j++) body += `,${group[j].items}`;
      body += ']';
      this.appender()
        .xadd(this.key, '*', 'b', body)
        .then(
          (id) => {
            if (!id) return this.settle(group, new Error('XADD returned no id'));
            let received = 0;
            for (const p of group) if (p.received) received += p.count;
            if (received > 0) this.metrics.heartbeatsAccepted.inc(received);
            this.settle(group, null);
          },
          (err: unknown) => this.settle(group, err),
        );
    }
  }

  /** Tells each request of an XADD how it went (one failing callback does not keep the others from theirs). */
  private settle(group: PendingAppend[], err: unknown): void {
    for (const p of group) {
      try {
        p.done(err);
      } catch (thrown) {
        this.logger.error({ err: (thrown as Error).message }, 'a heartbeat append callback threw');
      }
    }
  }

  /**
   * Appends go over a connection of their own, without auto-pipelining:
   * {@link flush} already batches, and a plain command is written straight to
   * the socket (the ingest hot path spent a tenth of its time building
   * pipelines). Opened on first use, so processes that only read the stream
   * do not hold it.
   */
  private appender(): Redis {
    if (!this.writer) {
      this.writer = this.redis.connect('ingest', { enableAutoPipelining: false });
      this.writer.defineCommand('appendOnce', { numberOfKeys: 2, lua: APPEND_ONCE_LUA });
    }
    return this.writer;
  }

  /**
   * When the workers cannot keep up or are all down, the stream would grow
   * until Redis runs out of memory and refuses everything. Refusing new
   * heartbeats with 503 (agents retry) keeps what was accepted safe. The
   * length is read in the background at most once a second, so the check
   * costs the request nothing (and reacts within a second).
   */
  private refuseWhenBacklogFull(): void {
    const now = Date.now();
    if (now - this.backlog.checkedAt > 1000) {
      this.backlog.checkedAt = now;
      this.appender()
        .xlen(this.key)
        .then((length) => {
          const full = length >= this.config.INGEST_BACKLOG_MAX;
          if (full !== this.backlog.full) {
            if (full) this.logger.warn({ backlog: length }, 'heartbeat backlog full; refusing heartbeats until the workers catch up');
            else this.logger.log({ backlog: length }, 'heartbeat backlog below its limit again; accepting heartbeats');
          }
          this.backlog.full = full;
        })
        .catch(() => {
          // Redis is down: the XADD that follows fails and is answered 503; checked again in a second.
        });
    }
    if (this.backlog.full) {
      throw new DomainError(ErrorCode.Unavailable, 'heartbeat backlog is full (workers are behind or down); retry shortly', 5);
    }
  }

  /**
   * Notes that the heartbeats of these entries are in live state (the drain
   * applies them before it writes Postgres): {@link watermarkMs} no longer
   * waits for them.
   */
  async markApplied(conn: Redis, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const members: (string | number)[] = [];
    for (const id of ids) members.push(streamIdMs(id), id);
    await conn.zadd(this.appliedKey, ...members);
  }

  /**
   * Acknowledges (and deletes) entries written to Postgres and drops their
   * applied marks, in one MULTI ({@link watermarkMs} also prunes marks a crash
   * left behind).
   */
  async acknowledge(conn: Redis, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await conn.multi().xack(this.key, DRAIN_GROUP, ...ids).xdel(this.key, ...ids).zrem(this.appliedKey, ...ids).exec();
  }

  /**
   * The receive time of the oldest heartbeat not yet in live state (not yet
   * delivered to a worker, or delivered and not yet applied), or null when
   * every entry in the stream is applied. The sweep judges silence only up to
   * this time: a heartbeat still on its way was heard. An entry that is
   * applied but not yet in Postgres does not hold it back, so detection does
   * not wait for Postgres writes (nor stop when Postgres is down).
   */
  async watermarkMs(conn: Redis): Promise<number | null> {
    const id = (await conn.eval(WATERMARK_LUA, 2, this.key, this.appliedKey, DRAIN_GROUP, WATERMARK_PENDING_SCAN)) as string | null;
    return id === null ? null : streamIdMs(id);
  }
}

/** Pending entries {@link HeartbeatStream.watermarkMs} looks at; when more are pending and all applied, it stops at the last (too early, never too late). */
const WATERMARK_PENDING_SCAN = 1000;

/**
 * KEYS: stream, applied marks. ARGV: group, pending entries to look at.
 * Returns the id of the oldest entry not yet applied, or nil.
 * Acknowledged entries are deleted (XACK + XDEL), so what is in the stream is
 * pending (delivered, not acknowledged) or not yet delivered.
 */
const WATERMARK_LUA = `
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #first == 0 then
  redis.call('DEL', KEYS[2])
  return false
end
-- Marks of entries older than the stream's first are of acknowledged entries.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.match(first[1][1], '^(%d+)'))
local last = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, delivered
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then delivered = g[i + 1] end
  end
  if name == ARGV[1] then last = delivered end
end
if last == nil then return first[1][1] end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', tonumber(ARGV[2]))
for _, p in ipairs(pending) do
  if not redis.call('ZSCORE', KEYS[2], p[1]) then return p[1] end
end
if #pending == tonumber(ARGV[2]) then return pending[#pending][1] end
local undelivered = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1)
if #undelivered > 0 then return undelivered[1][1] end
return false
`;

/** A stream entry as the heartbeats of one accepted request. */
export function toIngestEntry(e: StreamEntry): IngestEntry {
  return { streamId: e.id, receivedMs: streamIdMs(e.id), heartbeats: JSON.parse(e.fields.b) as Heartbeat[] };
}
