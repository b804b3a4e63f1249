import { Redis } from 'ioredis';
import { createTestDatabase, type TestDatabase, uniqueRedisPrefix } from './support/database.js';
import { testEnv } from './support/env.js';
import { type NinefoldProcess, startWorker } from './support/processes.js';

const LEASE_MS = 3000;
/** The bound: a survivor takes over within 10 s of the leader's death. */
const TAKEOVER_BOUND_MS = 10_000;

interface LeaderLine {
  msg: string;
  lease: string;
  owner: string;
  fencingToken: number;
  time: number;
}

const isBecameLeader = (line: string) => {
  try {
    const l = JSON.parse(line) as Partial<LeaderLine>;
    return l.msg === 'became leader' && l.lease === 'scheduler';
  } catch {
    return false;
  }
};

/** "became leader" lines of the scheduler lease (other singletons, like the detector, hold leases of their own). */
function becameLeaderLines(proc: NinefoldProcess): LeaderLine[] {
  return proc.logs().filter((l) => l.msg === 'became leader' && l.lease === 'scheduler') as unknown as LeaderLine[];
}

/** The owner id a worker prints in its "Ninefold worker started" line. */
function ownerOf(proc: NinefoldProcess): string {
  const line = proc.logs().find((l) => l.msg === 'Ninefold worker started');
  expect(line).toBeDefined();
  expect(typeof line!.owner).toBe('string');
  return line!.owner as string;
}

function parseLease(value: string | null): { owner: string; token: number } | null {
  if (value === null) return null;
  const sep = value.lastIndexOf('|');
  return { owner: value.slice(0, sep), token: Number(value.slice(sep + 1)) };
}

/** Resolves with the first of `procs` that logs "became leader" for the scheduler lease. */
async function firstLeader(procs: NinefoldProcess[], timeoutMs = 30_000): Promise<NinefoldProcess> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = procs.find((p) => p.output.some(isBecameLeader));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no worker became leader within ${timeoutMs} ms:\n${procs.map((p) => p.log.slice(-1500)).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Leader election of the "scheduler" singleton, against real Redis and real worker processes. */
describe('leader election across worker replicas (e2e)', () => {
  let db: TestDatabase;
  let redis: Redis;
  let prefix: string;
  let leaseKey: string;
  let env: Record<string, string>;
  const workers: NinefoldProcess[] = [];

  // State handed from one test to the next (they are one story: elect, fail over, hand over).
  let first: NinefoldProcess;
  let second: NinefoldProcess;
  let firstToken = 0;
  let secondToken = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    prefix = uniqueRedisPrefix();
    leaseKey = `${prefix}:leader:scheduler`;
    redis = new Redis(testEnv().redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: testEnv().redisUrl,
      NINEFOLD_REDIS_PREFIX: prefix,
      LEADER_LEASE_MS: String(LEASE_MS),
      LOG_LEVEL: 'info',
    };
    workers.push(...(await Promise.all([startWorker({ env }), startWorker({ env })])));
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    if (redis) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await redis.quit();
    }
    await db?.drop();
  });

  it('elects exactly one of two workers: the lease in Redis names the worker that logged "became leader"', async () => {
    const [a, b] = workers;
    first = await firstLeader([a, b]);
    second = first === a ? b : a;
    const [leaderLine] = becameLeaderLines(first);
    expect(leaderLine.owner).toBe(ownerOf(first));
    expect(leaderLine.fencingToken).toBeGreaterThan(0);

    // Give the other worker a full renew interval (lease / 3) to try for the lease itself.
    await new Promise((r) => setTimeout(r, LEASE_MS / 3 + 500));

    const lease = parseLease(await redis.get(leaseKey));
    expect(lease).toEqual({ owner: ownerOf(first), token: leaderLine.fencingToken });
    expect(ownerOf(second)).not.toBe(ownerOf(first));
    expect(becameLeaderLines(second)).toEqual([]);
    expect(becameLeaderLines(first)).toHaveLength(1);
    firstToken = lease!.token;
  });

  it('hands the lease to the survivor, with a larger fencing token, within 10 s of a kill -9 of the leader', async () => {
    const killedAt = Date.now();
    await first.kill();
    const line = JSON.parse(await second.waitForLine(isBecameLeader, TAKEOVER_BOUND_MS + 5_000)) as LeaderLine;
    const takeoverMs = line.time - killedAt;
    console.log(`leader takeover after kill -9: ${takeoverMs} ms (LEADER_LEASE_MS=${LEASE_MS})`);
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);

    expect(line.owner).toBe(ownerOf(second));
    const lease = parseLease(await redis.get(leaseKey));
    expect(lease?.owner).toBe(ownerOf(second));
    expect(lease?.token).toBe(line.fencingToken);
    expect(lease!.token).toBeGreaterThan(firstToken);
    secondToken = lease!.token;
  });

  it('releases the lease at once on a graceful stop (SIGTERM), so a third worker takes it without waiting for it to expire', async () => {
    const third = await startWorker({ env });
    workers.push(third);
    // The lease is still the second worker's; the newcomer does not take it.
    await new Promise((r) => setTimeout(r, LEASE_MS / 3 + 500));
    expect(parseLease(await redis.get(leaseKey))?.owner).toBe(ownerOf(second));
    expect(becameLeaderLines(third)).toEqual([]);

    // While the second worker shuts down, keep stripping the lease's time to live,
    // so the lease cannot simply run out: only an explicit release removes it.
    // (PERSIST leaves a missing key missing and does not change the value.)
    let stopping = true;
    const persisting = (async () => {
      while (stopping) {
        await redis.persist(leaseKey);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const stoppedAt = Date.now();
    try {
      await second.stop();
    } finally {
      stopping = false;
      await persisting;
    }
    // It shut down by itself (Nest re-raises SIGTERM once closed), not killed after the grace period.
    const exit = await second.waitForExit();
    expect(exit.signal).not.toBe('SIGKILL');

    // Gone, or already taken by the third worker: never still the second worker's.
    const afterStop = parseLease(await redis.get(leaseKey));
    if (afterStop !== null) expect(afterStop.owner).toBe(ownerOf(third));

    const line = JSON.parse(await third.waitForLine(isBecameLeader, 30_000)) as LeaderLine;
    console.log(`leader hand-over after SIGTERM: ${line.time - stoppedAt} ms (LEADER_LEASE_MS=${LEASE_MS})`);
    expect(line.owner).toBe(ownerOf(third));
    const lease = parseLease(await redis.get(leaseKey));
    expect(lease).toEqual({ owner: ownerOf(third), token: line.fencingToken });
    expect(lease!.token).toBeGreaterThan(secondToken);
  });
});
