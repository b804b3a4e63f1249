import { io, type Socket } from 'socket.io-client';
import { type NinefoldConfig, RedisService } from '#core';
import { RealtimeEvent, RealtimePublisher } from '#realtime';
import { HttpClient } from '../../../../test/support/http.js';
import { type NinefoldProcess, startApi } from '../../../../test/support/processes.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

interface Received {
  event: string;
  payload: Record<string, unknown>;
}

/**
 * The socket.io gateway with two api replicas on one Redis: authentication,
 * rooms (a client that follows one service gets only its events, each once),
 * the snapshot a (re)subscribing client gets, and events reaching a client on
 * the other replica.
 */
describe('live events gateway (e2e)', () => {
  let stack: Stack;
  let second: NinefoldProcess;
  let agent: HttpClient;
  let agentKey: string;
  let viewerKey: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack({ env: { LEADER_LEASE_MS: '2000' } });
    second = await startApi({ env: stack.env });
    ({ http: agent, key: agentKey } = await stack.client('agent'));
    ({ key: viewerKey } = await stack.client('viewer'));
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await second?.stop();
    await stack?.stop();
  });

  function connect(url: string, token?: string): { socket: Socket; events: Received[] } {
    const socket = io(url, { path: '/ws', transports: ['websocket'], reconnection: false, ...(token ? { auth: { token } } : {}) });
    const events: Received[] = [];
    socket.onAny((event: string, payload: Record<string, unknown>) => events.push({ event, payload }));
    sockets.push(socket);
    return { socket, events };
  }

  const connected = (s: Socket) => new Promise<void>((resolve, reject) => (s.connected ? resolve() : s.once('connect', () => resolve()).once('connect_error', reject)));
  const ask = <T>(s: Socket, event: string, body: unknown) => s.timeout(10_000).emitWithAck(event, body) as Promise<T>;

  it('refuses a client without a key, and one with a key too small for it', async () => {
    const anon = connect(stack.api.url);
    await until(async () => anon.events, (e) => e.some((x) => x.event === 'error'), 5000);
    expect(anon.events.find((e) => e.event === 'error')?.payload).toMatchObject({ statusCode: 401 });
    await until(async () => anon.socket.connected, (c) => !c, 5000);
    expect(anon.socket.connected).toBe(false);
    const agentOnly = connect(stack.api.url, agentKey);
    await until(async () => agentOnly.events, (e) => e.some((x) => x.event === 'error'), 5000);
    expect(agentOnly.events.find((e) => e.event === 'error')?.payload).toMatchObject({ statusCode: 403 });
  });

  it('sends a subscriber only the events of its rooms, once each, with a snapshot in the acknowledgement', async () => {
    // Both services exist before the clients subscribe.
    for (const service of ['rooms-a', 'rooms-b']) expect((await agent.post('/api/v1/heartbeats', { service, instance: `${service}-1`, intervalSeconds: 1 })).status).toBe(202);
    await until(() => stack.admin.get('/api/v1/services/rooms-a'), (r) => r.status === 200 && r.body.state === 'UP', 10_000);

    // One client follows rooms-a on the second replica (in two overlapping rooms); one takes everything on the first.
    const follower = connect(second.url, viewerKey);
    const firehose = connect(stack.api.url, viewerKey);
    await Promise.all([connected(follower.socket), connected(firehose.socket)]);
    const bad = await ask<{ ok: boolean; errors: string[] }>(follower.socket, 'subscribe', { rooms: ['service:Rooms A'] });
    expect(bad).toMatchObject({ ok: false, errors: [expect.stringContaining('is not a room')] });
    const ack = await ask<{ ok: boolean; rooms: string[]; snapshot: Record<string, { name: string; state: string } | null> }>(follower.socket, 'subscribe', { rooms: ['service:rooms-a', 'all'] });
    expect(ack.ok).toBe(true);
    expect(ack.snapshot['service:rooms-a']).toMatchObject({ name: 'rooms-a', state: 'UP' });
    const only = await ask<{ ok: boolean; rooms: string[] }>(follower.socket, 'unsubscribe', { rooms: ['all'] });
    expect(only.rooms).toEqual(['service:rooms-a']);

    // New instances of both services come UP (heartbeats sent to the first replica).
    expect((await agent.post('/api/v1/heartbeats', { heartbeats: [{ service: 'rooms-a', instance: 'rooms-a-2' }, { service: 'rooms-b', instance: 'rooms-b-2' }] })).status).toBe(202);
    const upOf = (events: Received[], service: string, id: string) => events.filter((e) => e.event === 'instance.state' && e.payload.service === service && e.payload.id === id && e.payload.state === 'UP');
    await until(async () => firehose.events, (e) => upOf(e, 'rooms-a', 'rooms-a-2').length > 0 && upOf(e, 'rooms-b', 'rooms-b-2').length > 0, 15_000);
    await until(async () => follower.events, (e) => upOf(e, 'rooms-a', 'rooms-a-2').length > 0, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(upOf(follower.events, 'rooms-a', 'rooms-a-2')).toHaveLength(1); // from the other replica, exactly once
    expect(follower.events.filter((e) => e.payload.service === 'rooms-b' || e.payload.name === 'rooms-b')).toEqual([]);
    expect(upOf(firehose.events, 'rooms-a', 'rooms-a-2')).toHaveLength(1);
  });

  it('gives a client that reconnects the current state when it subscribes again', async () => {
    const first = connect(stack.api.url, viewerKey);
    await connected(first.socket);
    await ask(first.socket, 'subscribe', { rooms: ['services'] });
    first.socket.close();
    // Meanwhile a service changes.
    expect((await agent.post('/api/v1/heartbeats', { service: 'rooms-c', instance: 'rooms-c-1', status: 'down' })).status).toBe(202);
    await until(() => stack.admin.get('/api/v1/services/rooms-c'), (r) => r.status === 200 && r.body.state === 'DOWN', 10_000);
    const again = connect(stack.api.url, viewerKey);
    await connected(again.socket);
    const ack = await ask<{ ok: boolean; snapshot: { services: { items: { name: string; state: string }[] } } }>(again.socket, 'subscribe', { rooms: ['services'] });
    expect(ack.snapshot.services.items.find((s) => s.name === 'rooms-c')).toMatchObject({ state: 'DOWN' });
  });

  it('delivers many events published together (packed, as the SLO leader sends them) each once, in order', async () => {
    const redis = new RedisService({ REDIS_URL: stack.env.REDIS_URL, NINEFOLD_REDIS_PREFIX: stack.env.NINEFOLD_REDIS_PREFIX } as NinefoldConfig);
    try {
      const client = connect(second.url, viewerKey);
      await connected(client.socket);
      expect(await ask(client.socket, 'subscribe', { rooms: ['service:packed'], snapshot: false })).toMatchObject({ ok: true });
      const at = new Date().toISOString();
      const messages = Array.from({ length: 450 }, (_, i) => ({ event: RealtimeEvent.SloUpdate, payload: { service: i % 2 === 0 ? 'packed' : 'other', name: `slo-${i}`, at } }));
      await new RealtimePublisher(redis).publishAll(messages);
      const got = await until(async () => client.events.filter((e) => e.event === 'slo.update'), (e) => e.length >= 225, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(client.events.filter((e) => e.event === 'slo.update').map((e) => e.payload.name)).toEqual(messages.filter((m) => m.payload.service === 'packed').map((m) => m.payload.name));
      expect(got[0].payload).toEqual({ service: 'packed', name: 'slo-0', at });
    } finally {
      await redis.onApplicationShutdown();
    }
  });
});
