import { io, type Socket } from 'socket.io-client';
import type { TestDatabase } from '../../../../test/support/database.js';
import type { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import type { TcpProxy } from '../../../../test/support/tcp-proxy.js';
import { until } from '../../../../test/support/until.js';

/**
 * Failure detection keeps working while Postgres is down (live state is in
 * Redis), and nothing accepted meanwhile is lost: heartbeats and state
 * changes reach Postgres once it is back, with no restart.
 */
describe('heartbeats through a Postgres outage (e2e)', () => {
  let stack: Stack;
  let db: TestDatabase;
  let pg: TcpProxy;
  let admin: HttpClient;

  beforeAll(async () => {
    stack = await startStack({
      // The outages below outlast the workers' copy of an instance's registration: they go on with it while Postgres is down.
      env: { INGEST_INSTANCE_CACHE_SECONDS: '1' },
      // Postgres through a proxy the test can cut.
      proxyPostgres: true,
    });
    ({ db, admin } = stack);
    pg = stack.pg!;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('detects and serves state changes during the outage, and records them all afterwards', async () => {
    await admin.post('/api/v1/heartbeats', { service: 'pay', instance: 'p-1', address: '10.0.0.1' });
    await until(() => admin.get('/api/v1/discovery/pay'), (r) => r.body.items?.length === 1, 10_000);

    await pg.cut();
    try {
      // A heartbeat the drain cannot write to Postgres: its entry stays pending and is retried...
      expect((await admin.post('/api/v1/heartbeats', { service: 'pay', instance: 'p-1', status: 'up' })).status).toBe(202);
      await new Promise((r) => setTimeout(r, 1500));
      // ...and the ones after it still reach live state: accepted (the key is cached, the stream is in Redis) and detected from Redis.
      const res = await admin.post('/api/v1/heartbeats', { service: 'pay', instance: 'p-1', status: 'down' });
      expect(res.status).toBe(202);
      const during = await until(() => admin.get('/api/v1/discovery/pay?all=true'), (r) => r.body.items?.[0]?.state === 'DOWN', 10_000);
      expect(during.body.items[0].reason).toBe('the instance reported itself down');
      // A brief pause so the worker meets the outage, not just the next query.
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await pg.restore();
    }

    const { rows } = await until(
      () => db.query<{ to: string; reason: string }>('SELECT t."to", t.reason FROM instance_transitions t ORDER BY t.id'),
      (r) => r.rows.length === 2,
      20_000,
    );
    expect(rows).toEqual([
      { to: 'UP', reason: 'first heartbeat' },
      { to: 'DOWN', reason: 'the instance reported itself down' },
    ]);
    const beats = await until(() => db.query<{ status: string }>('SELECT status FROM heartbeats ORDER BY id'), (r) => r.rows.length === 3, 20_000);
    expect(beats.rows.map((r) => r.status)).toEqual(['up', 'up', 'down']);
    const inst = await db.query<{ state: string }>("SELECT state FROM instances WHERE name = 'p-1'");
    expect(inst.rows[0].state).toBe('DOWN');
  });

  it('judges silence during the outage: an instance that stops heartbeating goes DOWN while Postgres is still down, and live views are told', async () => {
    const beat = (instance: string) => admin.post('/api/v1/heartbeats', { service: 'ship', instance, intervalSeconds: 1 });
    const states = async () => {
      const r = await admin.get('/api/v1/discovery/ship?all=true');
      return Object.fromEntries(((r.body.items ?? []) as { id: string; state: string }[]).map((i) => [i.id, i.state]));
    };
    for (const i of ['s-1', 's-2', 's-3']) expect((await beat(i)).status).toBe(202);
    await until(states, (s) => s['s-1'] === 'UP' && s['s-2'] === 'UP' && s['s-3'] === 'UP', 10_000);
    // A live view, subscribed before the outage.
    const socket: Socket = io(stack.api.url, { path: '/ws', transports: ['websocket'], reconnection: false, auth: { token: stack.adminKey } });
    const told: { id: string; state: string }[] = [];
    socket.on('instance.state', (p: { service: string; id: string; state: string }) => p.service === 'ship' && told.push({ id: p.id, state: p.state }));
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
    const ack = (await socket.timeout(10_000).emitWithAck('subscribe', { rooms: ['service:ship'] })) as { ok: boolean };
    expect(ack.ok).toBe(true);

    await pg.cut();
    let beating = true;
    // s-1 and s-3 go on heartbeating (their entries cannot reach Postgres and stay pending); s-2 falls silent.
    const others = (async () => {
      while (beating) {
        await beat('s-1');
        await beat('s-3');
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      const during = await until(states, (s) => s['s-2'] === 'DOWN', 20_000);
      expect(during).toMatchObject({ 's-1': 'UP', 's-2': 'DOWN', 's-3': 'UP' });
      // The SUSPECT and DOWN changes are announced although their history cannot be written yet.
      await until(async () => told, (t) => t.some((e) => e.id === 's-2' && e.state === 'DOWN'), 10_000);
      expect(told.filter((e) => e.id === 's-2').map((e) => e.state)).toEqual(['SUSPECT', 'DOWN']);
    } finally {
      socket.close();
      beating = false;
      await others;
      await pg.restore();
    }
    // Once Postgres is back, the change is in the history.
    await until(
      () => db.query<{ to: string }>("SELECT t.\"to\" FROM instance_transitions t JOIN instances i ON i.id = t.instance_id WHERE i.name = 's-2' ORDER BY t.id"),
      (r) => r.rows.map((x) => x.to).includes('DOWN'),
      20_000,
    );
  });
});
