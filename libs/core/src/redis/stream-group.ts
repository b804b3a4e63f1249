import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { WriteBehind } from './write-behind.js';

/** One entry of a Redis stream: its id (`<ms>-<seq>`) and its fields. */
export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

/**
 * A Redis stream read by a consumer group: at-least-once delivery across any
 * number of consumers (worker replicas). An entry is acknowledged (and
 * deleted) once handled; entries a dead consumer held are claimed by another
 * after `minIdleMs`.
 */
export class StreamGroup {
  constructor(
    readonly key: string,
    readonly group: string,
  ) {}

  /** Creates the group (and the stream) when missing. */
  async ensure(conn: Redis): Promise<void> {
    try {
      await conn.xgroup('CREATE', this.key, this.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  /** New entries for `consumer`, waiting up to `blockMs` for some. */
  async read(conn: Redis, consumer: string, count: number, blockMs: number): Promise<StreamEntry[]> {
    const res = (await conn.xreadgroup('GROUP', this.group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.key, '>')) as [string, [string, string[]][]][] | null;
    return res ? res[0][1].map(([id, f]) => ({ id, fields: toFields(f) })) : [];
  }

  /** Entries delivered to `consumer` and not yet acknowledged (after a failure or a restart): to retry first. */
  async readOwnPending(conn: Redis, consumer: string, count: number): Promise<StreamEntry[]> {
    const res = (await conn.xreadgroup('GROUP', this.group, consumer, 'COUNT', count, 'STREAMS', this.key, '0')) as [string, [string, string[] | null][]][] | null;
    return res ? res[0][1].filter((e): e is [string, string[]] => e[1] !== null).map(([id, f]) => ({ id, fields: toFields(f) })) : [];
  }

  /** Where `consumer` says it is alive (a key that expires unless refreshed). */
  aliveKey(consumer: string): string {
    return `${this.key}:alive:${this.group}:${consumer}`;
  }

  /** The consumers that say they are alive (so a missing key means a dead one, not an older version). */
  get aliveSetKey(): string {
    return `${this.key}:alive:${this.group}`;
  }

  /** `consumer` is alive for the next `ttlMs`. */
  async markAlive(conn: Redis, consumer: string, ttlMs: number): Promise<void> {
    await conn.multi().set(this.aliveKey(consumer), '1', 'PX', ttlMs).sadd(this.aliveSetKey, consumer).exec();
  }

  /**
   * Entries of consumers that said they were alive and stopped saying so
   * (a killed worker), now taken over by `consumer`, at most `count`, without
   * waiting for the entries' idle time: the dead consumer is known, not
   * guessed. A dead consumer left with nothing pending is forgotten. Returns
   * the entries and whose they were.
   */
  async claimFromDead(conn: Redis, consumer: string, count: number): Promise<{ entries: StreamEntry[]; from: string[] }> {
    const announced = (await conn.smembers(this.aliveSetKey)).filter((c) => c !== consumer);
    if (announced.length === 0) return { entries: [], from: [] };
    const alive = await conn.mget(...announced.map((c) => this.aliveKey(c)));
    const entries: StreamEntry[] = [];
    const from: string[] = [];
    for (const [i, dead] of announced.entries()) {
      if (alive[i] !== null || entries.length >= count) continue;
      const pending = (await conn.xpending(this.key, this.group, '-', '+', count - entries.length, dead)) as [string, string, number, number][];
      if (pending.length === 0) {
        await conn.multi().srem(this.aliveSetKey, dead).xgroup('DELCONSUMER', this.key, this.group, dead).exec();
        continue;
      }
      for (const res of await this.claimToSelf(conn, consumer, pending.map((p) => p[0]))) {
        for (const e of res as ([string, string[] | null] | null)[]) if (e && e[1]) entries.push({ id: e[0], fields: toFields(e[1]) });
      }
      from.push(dead);
    }
    return { entries, from };
  }

  /** Entries another consumer took and did not acknowledge within `minIdleMs`, now taken over by `consumer`. */
  async claimAbandoned(conn: Redis, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]> {
    const res = (await conn.xautoclaim(this.key, this.group, consumer, minIdleMs, '0-0', 'COUNT', count)) as [string, [string, string[] | null][]];
    return res[1].filter((e): e is [string, string[]] => e[1] !== null).map(([id, f]) => ({ id, fields: toFields(f) }));
  }

  /**
   * Entries `consumer` holds (pending for it), read again by id: for work
   * that let go of an entry's content and comes back to it later. Entries no
   * longer pending for it, or deleted from the stream, are left out.
   */
  async readAgain(conn: Redis, consumer: string, ids: string[]): Promise<StreamEntry[]> {
    const out: StreamEntry[] = [];
    for (const res of await this.claimToSelf(conn, consumer, ids)) {
      for (const e of res as ([string, string[] | null] | null)[]) if (e && e[1]) out.push({ id: e[0], fields: toFields(e[1]) });
    }
    return out;
  }

  /**
   * Resets the idle time of entries `consumer` still works on (XCLAIM to
   * itself, JUSTID: no delivery counted), so that no other consumer takes
   * them over as abandoned meanwhile. Ids no longer pending are skipped.
   */
  async keepClaimed(conn: Redis, consumer: string, ids: string[]): Promise<void> {
    await this.claimToSelf(conn, consumer, ids, 'JUSTID');
  }

  /** XCLAIM of `ids` by `consumer` with no idle minimum, 1,000 ids per command; the replies in order. */
  private async claimToSelf(conn: Redis, consumer: string, ids: string[], ...flags: 'JUSTID'[]): Promise<unknown[]> {
    const replies: unknown[] = [];
    for (let i = 0; i < ids.length; i += 1000) replies.push(await conn.xclaim(this.key, this.group, consumer, 0, ...ids.slice(i, i + 1000), ...flags));
    return replies;
  }

  async acknowledge(conn: Redis, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await conn.multi().xack(this.key, this.group, ...ids).xdel(this.key, ...ids).exec();
  }
}

export interface ConsumeOptions {
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  conn: Redis;
  consumer: string;
  /**
   * Entries per read, or a function asked before each read (the heartbeat
   * drain reads fewer entries when they hold many heartbeats, so what one
   * read holds is written well within `abandonedAfterMs`).
   */
  count: number | (() => number);
  blockMs: number;
  /** Keep going while this says so (checked between rounds). */
  running: () => boolean;
  /** Handles a batch and acknowledges what it finished with `ack` (all at once or in parts). */
  handle: (entries: StreamEntry[], ack: (ids: string[]) => Promise<void>) => Promise<void>;
  logger: Pick<Logger, 'warn'>;
  /** What the loop does, for its log lines: "<what> failed; retrying". */
  what: string;
  /** How often to look for entries other consumers abandoned (default: half of `abandonedAfterMs`). */
  claimEveryMs?: number;
  /** Idle time after which another consumer's pending entries count as abandoned (default 30 s). */
  abandonedAfterMs?: number;
  /**
   * While the consumer has entries of its own to retry (after a failure or a
   * restart), take turns with new ones instead of retrying only those (which
   * then waits for them all). With `behind`, a retry's own failure
   * shows only a round later, so the turns cannot wait for failures in a row.
   * For handlers whose first part does not need what failed and is
   * idempotent: the heartbeat drain applies live state in Redis before it
   * writes Postgres, so detection goes on through a Postgres outage.
   */
  readNewWhileFailing?: boolean;
  /**
   * For handlers that finish entries after `handle` returned (the heartbeat
   * drain writes them to Postgres while it reads on): the {@link WriteBehind}
   * doing that work, and a connection that does not block.
   * - A write failure not yet reported fails the next round, so what is
   *   pending is retried as after a failed `handle`.
   * - Entries it still holds are not handed to `handle` again (as the
   *   consumer's own pending ones, or taken over after a long write).
   * - Their idle time is reset every third of `abandonedAfterMs`, so however
   *   long their work takes, no other consumer takes them over (and does it
   *   again) while this one is alive.
   */
  behind?: { writer: Pick<WriteBehind<unknown>, 'takeFailure' | 'holds' | 'heldIds'>; conn: Redis };
  /**
   * A connection that does not block, on which the consumer says every
   * {@link ALIVE_EVERY_MS} that it is alive (a key expiring after
   * {@link ALIVE_TTL_MS}). Other consumers take the entries of one that
   * stopped saying so over at once, instead of after `abandonedAfterMs`: a
   * killed worker's unfinished heartbeats would otherwise hold the ingest
   * watermark, and so failure detection, back for that long.
   */
  alive?: { conn: Redis };
}

/** How often a consumer says it is alive. */
export const ALIVE_EVERY_MS = 1000;
/** How long that holds: a consumer silent this long is taken for dead and its entries are taken over. */
export const ALIVE_TTL_MS = 5000;

/**
 * The consuming loop every stream reader of Ninefold runs: create the group
 * when missing; first the consumer's own unfinished entries (after a failure
 * or a restart under the same name), then now and then those a dead consumer
 * left, then new ones. A failing round is retried with backoff, warned about
 * at most every 10 s, and its entries stay pending until handled (with
 * `readNewWhileFailing`, rounds of new entries come in between).
 */
export async function consume(group: StreamGroup, o: ConsumeOptions): Promise<void> {
  const abandonedAfterMs = o.abandonedAfterMs ?? 30_000;
  const claimEveryMs = o.claimEveryMs ?? abandonedAfterMs / 2;
  const ack = (ids: string[]) => group.acknowledge(o.conn, ids);
  const count = typeof o.count === 'number' ? () => o.count as number : o.count;
  let ready = false;
  let retryOwn = true;
  let lastClaim = 0;
  let failures = 0;
  let lastWarn = 0;
  let ownTurn = true;
  const behind = o.behind;
  const notHeld = (entries: StreamEntry[]) => (behind ? entries.filter((e) => !behind.writer.holds(e.id)) : entries);
  const keepAlive = behind
    ? setInterval(() => {
        const ids = behind.writer.heldIds();
        if (ids.length > 0) void group.keepClaimed(behind.conn, o.consumer, ids).catch(() => undefined);
      }, abandonedAfterMs / 3)
    : null;
  keepAlive?.unref();
  const alive = o.alive;
  const sayAlive = () => {
    if (alive) void group.markAlive(alive.conn, o.consumer, ALIVE_TTL_MS).catch(() => undefined);
  };
  sayAlive();
  const aliveTimer = alive ? setInterval(sayAlive, ALIVE_EVERY_MS) : null;
  aliveTimer?.unref();
  let lastDeadCheck = 0;
  try {
    while (o.running()) {
      try {
        if (!ready) {
          await group.ensure(o.conn);
          ready = true;
        }
        const background = behind?.writer.takeFailure() ?? null;
        if (background !== null) throw background;
        let entries: StreamEntry[] = [];
        // Consumers known dead (they said they were alive, and stopped): their entries first, once a second
        // whatever else there is to read (under steady load a read is never empty, and their entries are the
        // oldest, holding the ingest watermark back).
        if (alive && Date.now() - lastDeadCheck > ALIVE_EVERY_MS) {
          lastDeadCheck = Date.now();
          const taken = await group.claimFromDead(o.conn, o.consumer, count());
          entries = notHeld(taken.entries);
          if (taken.entries.length > 0) o.logger.warn({ entries: taken.entries.length, from: taken.from }, `${o.what}: took over the entries of a stopped consumer`);
        }
        // After a failure: own entries first, or every other round (until they are done) with readNewWhileFailing.
        const own = entries.length === 0 && retryOwn && (!o.readNewWhileFailing || ownTurn);
        if (entries.length === 0 && o.readNewWhileFailing && retryOwn) ownTurn = !ownTurn;
        if (own) {
          entries = notHeld(await group.readOwnPending(o.conn, o.consumer, count()));
          if (entries.length === 0) retryOwn = false;
        }
        if (entries.length === 0 && Date.now() - lastClaim > claimEveryMs) {
          lastClaim = Date.now();
          entries = notHeld(await group.claimAbandoned(o.conn, o.consumer, abandonedAfterMs, count()));
          if (entries.length > 0) o.logger.warn({ entries: entries.length }, `${o.what}: took over entries a stopped consumer had not finished`);
        }
        if (entries.length === 0) entries = await group.read(o.conn, o.consumer, count(), o.blockMs);
        if (entries.length > 0) await o.handle(entries, ack);
        failures = 0;
      } catch (err) {
        if (!o.running()) break; // shutting down: the connection was closed under a blocking read
        failures++;
        if (/NOGROUP/.test((err as Error).message)) ready = false;
        if (failures === 1 || Date.now() - lastWarn > 10_000) {
          lastWarn = Date.now();
          o.logger.warn({ err: (err as Error).message, failures }, `${o.what} failed; retrying`);
        }
        retryOwn = true;
        await new Promise((r) => setTimeout(r, Math.min(200 * failures, 2000)));
      }
    }
  } finally {
    if (keepAlive) clearInterval(keepAlive);
    // Its key expires ALIVE_TTL_MS later: time for a graceful stop to finish the writes it holds.
    if (aliveTimer) clearInterval(aliveTimer);
  }
}

/** The receive time of a stream id. */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

function toFields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}
