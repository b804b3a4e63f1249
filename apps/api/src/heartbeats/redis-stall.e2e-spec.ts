import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { startRedis } from '../../../../scripts/lib/redis.mjs';
import { freePort } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { TcpProxy } from '../../../../test/support/tcp-proxy.js';
import { until } from '../../../../test/support/until.js';

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | null;
}

/**
 * Ninefold's own Redis stalled (its process stopped with SIGSTOP, connections
 * kept open, nothing answered) and then refusing connections: every heartbeat
 * request gets its answer within about REDIS_COMMAND_TIMEOUT_MS (2 s), 503
 * with Retry-After, instead of hanging for the whole stall; /readyz says
 * Redis is down; everything answered 202 is stored; recovery needs no
 * restart. This test runs its own redis-server, not the one the other test
 * files share.
 */
describe('heartbeats through a stalled and a refusing Redis (e2e)', () => {
  let stack: Stack;
  let redis: { url: string; stop: () => Promise<void>; pid: number };
  let proxy: TcpProxy;
  let dir: string;
  const answers: { phase: string; answer: Answer }[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-redis-stall-'));
    redis = await startRedis({ dataDir: path.join(dir, 'redis'), port: await freePort(), logFile: path.join(dir, 'redis.log'), ephemeral: true });
    const proxied = await TcpProxy.for(redis.url);
    proxy = proxied.proxy;
    stack = await startStack({ env: { REDIS_URL: proxied.url, REDIS_COMMAND_TIMEOUT_MS: "2000" } });
  });

  afterAll(async () => {
    try {
      process.kill(redis.pid, 'SIGCONT');
    } catch {
      // gone
    }
    await stack?.stop();
    await proxy?.close();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One heartbeat, as the agent sends it (with an Idempotency-Key), timed. */
  async function beat(phase: string): Promise<Answer> {
    const t0 = Date.now();
    const res = await fetch(`${stack.api.url}/api/v1/heartbeats`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ service: 'stalled', instance: 'st-1', intervalSeconds: 60 }),
      signal: AbortSignal.timeout(20_000),
    }).catch(() => null);
    const answer = { status: res?.status ?? 0, ms: Date.now() - t0, retryAfter: res?.headers.get('retry-after') ?? null };
    await res?.text();
    answers.push({ phase, answer });
    return answer;
  }

  /** Heartbeats every 100 ms for `ms`, each in flight on its own, as many agents would send them. */
  async function beatFor(phase: string, ms: number): Promise<Answer[]> {
    const inFlight: Promise<Answer>[] = [];
    const end = Date.now() + ms;
    while (Date.now() < end) {
      inFlight.push(beat(phase));
      await new Promise((r) => setTimeout(r, 100));
    }
    return Promise.all(inFlight);
  }

  it('answers 503 with Retry-After within about 2 s while Redis is stalled, not after the stall, and 202 again after it', async () => {
    expect((await beat('before')).status).toBe(202);

    process.kill(redis.pid, 'SIGSTOP');
    let during: Answer[];
    try {
      const ready = fetch(`${stack.api.url}/readyz`).then(async (r) => ({ status: r.status, body: (await r.json()) as { checks: { redis: { status: string } } } }));
      during = await beatFor('stalled', 6_000);
      const readiness = await ready;
      expect(readiness.status).toBe(503);
      expect(readiness.body.checks.redis.status).toBe('down');
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    // Each one answered, none held for the whole 6 s stall: REDIS_COMMAND_TIMEOUT_MS (2 s) and some slack.
    expect(during.filter((a) => a.status !== 503)).toEqual([]);
    expect(Math.max(...during.map((a) => a.ms))).toBeLessThan(4_000);
    expect(during.every((a) => a.retryAfter !== null && Number(a.retryAfter) > 0)).toBe(true);

    // Back without a restart.
    await until(() => beat('after stall'), (a) => a.status === 202, 15_000);
  });

  it('answers 503 at once while Redis refuses connections, and 202 again once it is back', async () => {
    await proxy.cut();
    let during: Answer[];
    try {
      during = await beatFor('refused', 3_000);
    } finally {
      await proxy.restore();
    }
    expect(during.filter((a) => a.status !== 503)).toEqual([]);
    expect(Math.max(...during.map((a) => a.ms))).toBeLessThan(4_000);
    await until(() => beat('after refusal'), (a) => a.status === 202, 15_000);
    expect((await fetch(`${stack.api.url}/readyz`)).status).toBe(200);
  });

  it('stores every heartbeat it answered 202', async () => {
    const accepted = answers.filter((a) => a.answer.status === 202).length;
    const stored = await until(
      async () => (await stack.db.query<{ n: number }>("SELECT count(*)::int AS n FROM heartbeats h JOIN instances i ON i.id = h.instance_id WHERE i.name = 'st-1'")).rows[0].n,
      (n) => n >= accepted,
      20_000,
    );
    expect(stored).toBeGreaterThanOrEqual(accepted);
    // At most what was sent: a 503 whose append Redis carried out after the stall may be stored too (the agent's
    // retry with the same Idempotency-Key is then answered as a replay, not stored again).
    expect(stored).toBeLessThanOrEqual(answers.length);
  });
});
