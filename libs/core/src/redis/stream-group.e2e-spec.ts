import { uniqueRedisPrefix } from '../../../../test/support/database.js';
import { testEnv } from '../../../../test/support/env.js';
import { until } from '../../../../test/support/until.js';
import type { NinefoldConfig } from '../config/env.schema.js';
import { RedisService } from './redis.service.js';
import { ALIVE_TTL_MS, consume, type ConsumeOptions, StreamGroup } from './stream-group.js';
import { WriteBehind } from './write-behind.js';

const ABANDONED_AFTER_MS = 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Entries a consumer's handler still holds after `handle` returned (written
 * behind, see WriteBehind) stay its own however long their work takes: no
 * other consumer takes them over as abandoned while it is alive. Once it is
 * gone, they are taken over as before.
 */
describe('consume with held entries (e2e, Redis)', () => {
  let redis: RedisService;

  beforeAll(() => {
    redis = new RedisService({ REDIS_URL: testEnv().redisUrl, NINEFOLD_REDIS_PREFIX: uniqueRedisPrefix() } as NinefoldConfig);
  });

  afterAll(() => redis.onApplicationShutdown());

  /** Consumer "a" of `group` on a connection of its own, until `stop()`; `opts` says how it handles and what it abandons. */
  function consumerA(group: StreamGroup, opts: Pick<ConsumeOptions, 'handle' | 'abandonedAfterMs' | 'behind' | 'alive'>): { stop: () => Promise<void> } {
    let running = true;
    const loop = consume(group, {
      conn: redis.connect('reader-a', { maxRetriesPerRequest: null }),
      consumer: 'a',
      count: 10,
      blockMs: 100,
      running: () => running,
      logger: { warn: () => undefined },
      what: 'test',
      ...opts,
    });
    return {
      stop: () => {
        running = false;
        return loop;
      },
    };
  }

  it('keeps held entries from being taken over as abandoned, and lets them go once the consumer stopped', async () => {
    const group = new StreamGroup(redis.key('held', 'stream'), 'g');
    await group.ensure(redis.client);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await redis.client.xadd(group.key, '*', 'n', String(i))) as string);

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const writer = new WriteBehind<string[]>({
      itemsPerWrite: 1,
      maxWeight: Number.POSITIVE_INFINITY,
      write: async ([batch]) => {
        await gate; // a write far slower than the abandon time
        await group.acknowledge(redis.client, batch);
      },
    });
    const a = consumerA(group, {
      abandonedAfterMs: ABANDONED_AFTER_MS,
      handle: async (entries) => writer.push(entries.map((e) => e.id), entries.map((e) => e.id), entries.length),
      behind: { writer, conn: redis.client },
    });
    await until(async () => writer.heldIds(), (held) => held.length === 5, 5000);

    // Over three times the abandon time: another consumer finds nothing to take over.
    for (let i = 0; i < 10; i++) {
      await sleep(200);
      expect(await group.claimAbandoned(redis.client, 'b', ABANDONED_AFTER_MS, 10)).toEqual([]);
    }

    // The first consumer stops (as if it died) with its write unfinished: now they are taken over.
    await a.stop();
    await sleep(ABANDONED_AFTER_MS + 100);
    const taken = await group.claimAbandoned(redis.client, 'b', ABANDONED_AFTER_MS, 10);
    expect(taken.map((e) => e.id)).toEqual(ids);

    release();
    await writer.settled();
  });

  it('has a live consumer\'s entries kept, and a dead one\'s taken over at once by its liveness, not after the abandon time', async () => {
    const group = new StreamGroup(redis.key('alive', 'stream'), 'g');
    await group.ensure(redis.client);
    for (let i = 0; i < 4; i++) await redis.client.xadd(group.key, '*', 'n', String(i));
    // Consumer "a" says it is alive, reads everything, and never acknowledges (a worker about to be killed).
    const a = consumerA(group, { abandonedAfterMs: 60_000, handle: async () => undefined, alive: { conn: redis.client } });
    await until(() => redis.client.xpending(group.key, 'g'), (p) => (p as [number])[0] === 4, 5000);

    // While "a" lives, nothing of it is taken, however often "b" looks.
    for (let i = 0; i < 3; i++) {
      await sleep(300);
      expect((await group.claimFromDead(redis.client, 'b', 10)).entries).toEqual([]);
    }

    // "a" dies (its loop stops; its key expires within ALIVE_TTL_MS), far sooner than the 60 s abandon time.
    await a.stop();
    const diedAt = Date.now();
    const taken = await until(() => group.claimFromDead(redis.client, 'b', 10), (t) => t.entries.length > 0, ALIVE_TTL_MS + 3000);
    expect(taken.entries).toHaveLength(4);
    expect(taken.from).toEqual(['a']);
    expect(Date.now() - diedAt).toBeLessThan(ALIVE_TTL_MS + 2000);
    // They are "b"'s now; "a", left with nothing, is forgotten at the next look.
    expect(await redis.client.xpending(group.key, 'g', '-', '+', 10, 'b')).toHaveLength(4);
    expect((await group.claimFromDead(redis.client, 'b', 10)).entries).toEqual([]);
    expect(await redis.client.smembers(group.aliveSetKey)).toEqual([]);
  });
});
