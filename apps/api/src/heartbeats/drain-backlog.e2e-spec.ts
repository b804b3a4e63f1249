import { startWorker } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/** Instances of the backlog: each comes UP once, more state changes than the transitions consumer keeps in memory. */
const INSTANCES = 25_000;
const PER_REQUEST = 1000;
const REQUESTS = 120;

/**
 * A worker that finds a backlog applies it to live state faster than
 * Postgres takes it: what does not fit in memory waits in the stream for the
 * writer, which reads it again, and every heartbeat is stored once; the
 * 25,000 instances' first state changes are recorded once each.
 */
describe('a worker draining a backlog larger than it keeps in memory (e2e)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('stores every heartbeat once, the ones read again from the stream included', async () => {
    // 120,000 heartbeats of 25,000 instances accepted while no worker runs.
    const bodies = Array.from({ length: INSTANCES / PER_REQUEST }, (_, b) =>
      JSON.stringify({ heartbeats: Array.from({ length: PER_REQUEST }, (_, i) => ({ service: `backlog-${b % 10}`, instance: `b-${b * PER_REQUEST + i}`, intervalSeconds: 300 })) }),
    );
    for (let sent = 0; sent < REQUESTS; sent += 10) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          fetch(`${stack.api.url}/api/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminKey}` }, body: bodies[(sent + j) % bodies.length] }),
        ),
      );
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(202));
    }

    const worker = await startWorker({ env: stack.env });
    stack.workers = [worker];
    const total = PER_REQUEST * REQUESTS;
    const stored = async () => (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM heartbeats')).rows[0].n;
    await until(stored, (n) => n >= total, 90_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await stored()).toBe(total);
    const rollups = await stack.db.query<{ n: number }>('SELECT sum(heartbeats)::int AS n FROM request_rollups');
    expect(rollups.rows[0].n).toBe(total);
    // Each instance came UP once, in the history.
    const ups = async () => (await stack.db.query<{ n: number; distinct: number }>(`SELECT count(*)::int AS n, count(DISTINCT instance_id)::int AS distinct FROM instance_transitions WHERE "to" = 'UP'`)).rows[0];
    await until(ups, (u) => u.n >= INSTANCES, 90_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await ups()).toEqual({ n: INSTANCES, distinct: INSTANCES });
    // The path under test was taken: part of the backlog waited in the stream for the writer.
    expect(worker.log).toMatch(/Postgres writes are behind the heartbeats applied/);
  });
});
