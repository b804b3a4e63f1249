import type { Redis } from 'ioredis';

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

  /** Entries another consumer took and did not acknowledge within `minIdleMs`, now taken over by `consumer`. */
  async claimAbandoned(conn: Redis, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]> {
    const res = (await conn.xautoclaim(this.key, this.group, consumer, minIdleMs, '0-0', 'COUNT', count)) as [string, [string, string[] | null][]];
    return res[1].filter((e): e is [string, string[]] => e[1] !== null).map(([id, f]) => ({ id, fields: toFields(f) }));
  }

  async acknowledge(conn: Redis, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await conn.multi().xack(this.key, this.group, ...ids).xdel(this.key, ...ids).exec();
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
