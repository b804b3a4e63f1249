import type { HttpClient } from '../../../../test/support/http.js';
import { startWorker } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import type { TcpProxy } from '../../../../test/support/tcp-proxy.js';
import { until } from '../../../../test/support/until.js';

const TAKEOVER_SECONDS = 3;

/**
 * A worker killed (kill -9) while it holds heartbeats it has applied to live
 * state but not yet written to Postgres: another worker takes them over after
 * WORKER_TAKEOVER_SECONDS and writes each exactly once.
 */
describe('a worker killed with heartbeats not yet written (e2e)', () => {
  let stack: Stack;
  let pg: TcpProxy;
  let admin: HttpClient;

  beforeAll(async () => {
    stack = await startStack({
      env: { WORKER_TAKEOVER_SECONDS: String(TAKEOVER_SECONDS) },
      // Postgres through a proxy the test can cut, so that the first worker cannot write what it applied.
      proxyPostgres: true,
    });
    pg = stack.pg!;
    admin = stack.admin;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const stored = async () => (await stack.db.query<{ n: number }>("SELECT count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id WHERE i.name LIKE 't-%'")).rows[0].n;

  it('has another worker write them, once each', async () => {
    const instances = ['t-1', 't-2', 't-3'];
    for (const instance of instances) expect((await admin.post('/api/v1/heartbeats', { service: 'takeover', instance })).status).toBe(202);
    await until(stored, (n) => n === 3, 10_000);

    await pg.cut();
    // Applied to live state by the first worker (it knows these instances), not writable to Postgres.
    const sent: string[] = [];
    for (let round = 0; round < 10; round++) {
      const res = await admin.post('/api/v1/heartbeats', { heartbeats: instances.map((instance) => ({ service: 'takeover', instance })) });
      expect(res.status).toBe(202);
      sent.push(...instances);
    }
    // The first worker reads them at once (it goes on reading while its writes fail).
    await new Promise((r) => setTimeout(r, 1500));
    const [dead] = stack.workers;
    await dead.kill();
    await pg.restore();

    const second = await startWorker({ env: stack.env });
    stack.workers = [second];
    const expected = 3 + sent.length;
    await until(stored, (n) => n >= expected, 30_000);
    // Written once: nothing more comes after another takeover period.
    await new Promise((r) => setTimeout(r, (TAKEOVER_SECONDS + 1) * 1000));
    expect(await stored()).toBe(expected);
    // They were the first worker's (delivered to it), not new ones the second read itself.
    expect(second.log).toMatch(/heartbeat drain: took over entries a stopped consumer had not finished/);
  });
});
