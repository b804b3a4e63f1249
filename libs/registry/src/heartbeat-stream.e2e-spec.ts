import { MetricsService, type NinefoldConfig, RedisService, streamIdMs } from '#core';
import { uniqueRedisPrefix } from '../../../test/support/database.js';
import { testEnv } from '../../../test/support/env.js';
import { DRAIN_GROUP, HeartbeatStream } from './heartbeat-stream.js';

/**
 * The ingest watermark on a real Redis: failure detection judges silence only
 * up to the oldest heartbeat not yet in live state. Entries not yet delivered
 * to a worker, or delivered and not yet applied, hold it back; entries
 * applied but not yet in Postgres (acknowledged only after the write) do not.
 */
describe('HeartbeatStream.watermarkMs (e2e, Redis)', () => {
  let redis: RedisService;
  let stream: HeartbeatStream;

  beforeAll(() => {
    redis = new RedisService({ REDIS_URL: testEnv().redisUrl, NINEFOLD_REDIS_PREFIX: uniqueRedisPrefix() } as NinefoldConfig);
    stream = new HeartbeatStream(redis, new MetricsService(), { INGEST_BACKLOG_MAX: 1_000_000 } as NinefoldConfig);
  });

  afterAll(() => redis.onApplicationShutdown());

  it('is the oldest entry not yet delivered or applied, whatever is still to be written to Postgres', async () => {
    const conn = redis.client;
    let ms = 1000;
    const add = () => conn.xadd(stream.key, `${(ms += 1000)}-0`, 'b', '[]') as Promise<string>;
    const deliver = async (count: number) => {
      const got = (await conn.xreadgroup('GROUP', DRAIN_GROUP, 'w-1', 'COUNT', count, 'STREAMS', stream.key, '>')) as [string, [string, string[]][]][];
      return got[0][1].map(([id]) => id);
    };
    const watermark = () => stream.watermarkMs(conn);

    expect(await watermark()).toBeNull(); // no stream yet
    const [a, b, c] = [await add(), await add(), await add()];
    expect(await watermark()).toBe(streamIdMs(a)); // no consumer group yet: nothing delivered
    await stream.group.ensure(conn);
    expect(await watermark()).toBe(streamIdMs(a)); // nothing delivered

    expect(await deliver(2)).toEqual([a, b]);
    expect(await watermark()).toBe(streamIdMs(a)); // delivered, not applied
    await stream.markApplied(conn, [a]);
    expect(await watermark()).toBe(streamIdMs(b));
    await stream.markApplied(conn, [b]);
    expect(await watermark()).toBe(streamIdMs(c)); // a and b only wait for Postgres; c is not delivered yet

    expect(await deliver(1)).toEqual([c]);
    expect(await watermark()).toBe(streamIdMs(c));
    await stream.markApplied(conn, [c]);
    expect(await watermark()).toBeNull(); // all applied: silence is judged up to now

    // Acknowledged (deleted) after the Postgres write; a mark left behind (a crash before forgetApplied) is pruned.
    await stream.acknowledge(conn, [a]);
    await stream.group.acknowledge(conn, [b]);
    const d = await add();
    expect(await watermark()).toBe(streamIdMs(d));
    expect(await conn.zrange(stream.appliedKey, '0', '-1')).toEqual([c]);
    await stream.group.acknowledge(conn, [c]);
    await stream.group.acknowledge(conn, [d]);
    expect(await watermark()).toBeNull();
    expect(await conn.exists(stream.appliedKey)).toBe(0);
  });

  it('stops at the last pending entry it looked at when more are pending (too early, never too late)', async () => {
    const conn = redis.client;
    await conn.del(stream.key, stream.appliedKey);
    await stream.group.ensure(conn);
    const ids: string[] = [];
    for (let i = 0; i < 1005; i++) ids.push((await conn.xadd(stream.key, '*', 'b', '[]')) as string);
    await conn.xreadgroup('GROUP', DRAIN_GROUP, 'w-1', 'COUNT', '1005', 'STREAMS', stream.key, '>');
    await stream.markApplied(conn, ids);
    expect(await stream.watermarkMs(conn)).toBe(streamIdMs(ids[999]));
  });
});
