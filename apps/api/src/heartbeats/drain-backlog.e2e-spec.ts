import { startWorker } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

const INSTANCES = 1000;
const REQUESTS = 120;

/**
 * A worker that finds a backlog applies it to live state faster than
 * Postgres takes it: what does not fit in memory waits in the stream for the
 * writer, which reads it again, and every heartbeat is stored once.
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
    // 120,000 heartbeats accepted while no worker runs.
    const body = JSON.stringify({ heartbeats: Array.from({ length: INSTANCES }, (_, i) => ({ service: `backlog-${i % 10}`, instance: `b-${i}`, intervalSeconds: 300 })) });
    for (let sent = 0; sent < REQUESTS; sent += 10) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => fetch(`${stack.api.url}/api/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminKey}` }, body })),
      );
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(202));
    }

    const worker = await startWorker({ env: stack.env });
    stack.workers = [worker];
    const total = INSTANCES * REQUESTS;
    const stored = async () => (await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM heartbeats')).rows[0].n;
    await until(stored, (n) => n >= total, 90_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await stored()).toBe(total);
    const rollups = await stack.db.query<{ n: number }>('SELECT sum(heartbeats)::int AS n FROM request_rollups');
    expect(rollups.rows[0].n).toBe(total);
    // The path under test was taken: part of the backlog waited in the stream for the writer.
    expect(worker.log).toMatch(/Postgres writes are behind the heartbeats applied/);
  });
});
