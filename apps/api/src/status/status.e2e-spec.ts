import { io, type Socket } from 'socket.io-client';
import { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * What the dashboard and the public status page read: a service's state
 * history and daily uptime (viewer key), the public status page (no key) and
 * its live namespace, which carries public services only.
 */
describe('status page, history and uptime (e2e)', () => {
  let stack: Stack;
  let agent: HttpClient;
  let viewer: HttpClient;
  let anonymous: HttpClient;
  const sockets: Socket[] = [];

  const beat = async (service: string, instance: string, status: 'up' | 'down' = 'up') => expect((await agent.post('/api/v1/heartbeats', { service, instance, status, intervalSeconds: 30 })).status).toBe(202);
  const stateOf = (service: string, state: string) => until(() => stack.admin.get(`/api/v1/services/${service}`), (r) => r.status === 200 && r.body.state === state, 15_000);

  beforeAll(async () => {
    stack = await startStack();
    ({ http: agent } = await stack.client('agent'));
    ({ http: viewer } = await stack.client('viewer'));
    anonymous = new HttpClient(stack.api.url);
    expect((await stack.admin.post('/api/v1/services', { name: 'shop', description: 'The web shop' })).status).toBe(201);
    const hidden = await stack.admin.post('/api/v1/services', { name: 'billing-internal', public: false });
    expect(hidden.status).toBe(201);
    expect(hidden.body.public).toBe(false);
    await beat('shop', 'shop-1');
    await beat('billing-internal', 'billing-1');
    await Promise.all([stateOf('shop', 'UP'), stateOf('billing-internal', 'UP')]);
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await stack?.stop();
  });

  it('says what is wrong with a bad public flag', async () => {
    const res = await stack.admin.post('/api/v1/services', { name: 'shop', public: 'yes' });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(['public must be true or false']);
    // Nothing of the rejected update was kept.
    expect((await stack.admin.get('/api/v1/services/shop')).body).toMatchObject({ public: true, description: 'The web shop' });
  });

  it('serves the public status page without a key: public services only, 90 days each, cacheable', async () => {
    const res = await anonymous.get('/api/v1/status');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=10');
    expect(res.body).toMatchObject({ title: 'Service status', state: 'operational' });
    expect(res.body.services.map((s: { name: string }) => s.name)).toEqual(['shop']);
    const shop = res.body.services[0];
    expect(shop).toMatchObject({ name: 'shop', description: 'The web shop', state: 'UP' });
    expect(shop.days).toHaveLength(90);
    expect(shop.days[89].date).toBe(new Date().toISOString().slice(0, 10));
    expect(shop.days[89].availability).toBe(1);
    expect(shop.days[0].availability).toBeNull();
    expect(shop.uptime90d).toBe(1);
  });

  it('pushes state changes of public services to anonymous status page visitors, and nothing of the others', async () => {
    const socket = io(`${stack.api.url}/status`, { path: '/ws', transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    const events: { name: string; state: string; since: string; at: string }[] = [];
    socket.on('service.state', (p: (typeof events)[number]) => events.push(p));
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));

    await beat('billing-internal', 'billing-1', 'down');
    await stateOf('billing-internal', 'DOWN');
    await beat('shop', 'shop-1', 'down');
    await until(async () => events, (e) => e.some((x) => x.name === 'shop' && x.state === 'DOWN'), 10_000);
    expect(events.find((x) => x.name === 'shop')).toEqual({ name: 'shop', state: 'DOWN', since: expect.any(String), at: expect.any(String) });
    expect(events.filter((x) => x.name === 'billing-internal')).toEqual([]);
  });

  it('caps live connections per visitor address: over the cap a socket is told why and closed, and a freed place can be taken again', async () => {
    /** A status page socket from `address` (as a proxy names it); resolves once connected, or with the refusal. */
    const visit = (address: string) => {
      const socket = io(`${stack.api.url}/status`, { path: '/ws', transports: ['websocket'], reconnection: false, extraHeaders: { 'x-forwarded-for': `${address}, 10.0.0.1` } });
      sockets.push(socket);
      return new Promise<{ socket: Socket; refused: { reason: string; poll: string } | null }>((resolve, reject) => {
        socket.once('refused', (r: { reason: string; poll: string }) => resolve({ socket, refused: r }));
        // A connection the server closes at once may still report connect first: wait a moment for a refusal.
        socket.once('connect', () => setTimeout(() => resolve({ socket, refused: null }), 200));
        socket.once('connect_error', reject);
      });
    };
    // STATUS_WS_MAX_PER_ADDRESS defaults to 20.
    const first = await Promise.all(Array.from({ length: 20 }, () => visit('203.0.113.7')));
    expect(first.filter((v) => v.refused)).toEqual([]);
    const over = await visit('203.0.113.7');
    expect(over.refused).toEqual({ reason: 'too many live connections from your address', poll: '/api/v1/status' });
    await until(async () => over.socket.connected, (c) => !c, 5000);
    // Another address is not held back; and a place freed is free again.
    expect((await visit('203.0.113.8')).refused).toBeNull();
    first[0].socket.close();
    await until(async () => (await visit('203.0.113.7')).refused, (r) => r === null, 5000);
  });

  it('pages through the state history of a service and its instances, newest first', async () => {
    expect((await anonymous.get('/api/v1/services/shop/history')).status).toBe(401);
    const all = await viewer.get('/api/v1/services/shop/history?limit=500');
    expect(all.status).toBe(200);
    // shop-1: UNKNOWN→UP, UP→DOWN; the service: UNKNOWN→UP, UP→DOWN.
    const changes = all.body.items.map((i: { kind: string; instance: string | null; from: string; to: string }) => `${i.kind}:${i.instance ?? '-'}:${i.from}>${i.to}`);
    expect(changes).toEqual(expect.arrayContaining(['service:-:UP>DOWN', 'instance:shop-1:UP>DOWN', 'service:-:UNKNOWN>UP', 'instance:shop-1:UNKNOWN>UP']));
    const times = all.body.items.map((i: { at: string }) => Date.parse(i.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all.body.nextCursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { at: string; kind: string; from: string; to: string; instance: string | null }[]; nextCursor: string | null } } = await viewer.get(`/api/v1/services/shop/history?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.body.items.map((i) => `${i.kind}:${i.instance ?? '-'}:${i.from}>${i.to}`));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(changes);

    const bad = await viewer.get('/api/v1/services/shop/history?cursor=nonsense');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(['cursor must be the nextCursor of a previous page']);
    expect((await viewer.get('/api/v1/services/shop/history?limit=0')).status).toBe(400);
    expect((await viewer.get('/api/v1/services/nothing-here/history')).status).toBe(404);
  });

  it('gives availability per UTC day, today last, and refuses a range it does not keep', async () => {
    const res = await viewer.get('/api/v1/services/shop/uptime?days=7');
    expect(res.status).toBe(200);
    expect(res.body.service).toBe('shop');
    expect(res.body.days).toHaveLength(7);
    const today = res.body.days[6];
    expect(today.date).toBe(new Date().toISOString().slice(0, 10));
    // Up for a few seconds, then down: known, and less than whole.
    expect(today.knownSeconds).toBeGreaterThan(0);
    expect(today.availability).toBeGreaterThan(0);
    expect(today.availability).toBeLessThan(1);
    expect(res.body.days.slice(0, 6).every((d: { availability: number | null }) => d.availability === null)).toBe(true);
    expect((await viewer.get('/api/v1/services/shop/uptime')).body.days).toHaveLength(90);
    for (const days of ['0', '91', 'many']) {
      const bad = await viewer.get(`/api/v1/services/shop/uptime?days=${days}`);
      expect(bad.status).toBe(400);
      expect(bad.body.message).toContain('days must be an integer from 1 to 90');
    }
    expect((await viewer.get('/api/v1/services/nothing-here/uptime')).status).toBe(404);
  });
});
