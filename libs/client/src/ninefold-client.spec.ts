import { BreakerOpenError, NinefoldClient } from './ninefold-client.js';

/** A stand-in for the local agent's HTTP API, recording what the client sends. */
function fakeAgent(breakers: { dependency: string; state: string; since?: string }[] = [], opts: { down?: boolean; rateLimit?: unknown } = {}) {
  const posts: { path: string; body: unknown }[] = [];
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    if (opts.down) throw new TypeError('fetch failed');
    const url = new URL(String(input));
    if (url.pathname === '/v1/breakers') return new Response(JSON.stringify({ items: breakers }), { status: 200 });
    if (url.pathname.startsWith('/v1/ratelimits/')) {
      return opts.rateLimit === undefined ? new Response('{"error":"x"}', { status: 503 }) : new Response(JSON.stringify(opts.rateLimit), { status: 200 });
    }
    posts.push({ path: url.pathname, body: JSON.parse(String(init?.body)) });
    return new Response('{"recorded":1}', { status: 202 });
  }) as typeof fetch;
  return { posts, fetchFn };
}

describe('NinefoldClient', () => {
  it('reports each call with its outcome and duration, and rethrows what the call threw', async () => {
    const agent = fakeAgent();
    const nf = new NinefoldClient({ service: 'shop', agentUrl: 'http://agent', fetch: agent.fetchFn, flushIntervalMs: 60_000 });
    expect(await nf.call('payments', () => 42)).toBe(42);
    await expect(nf.call('payments', () => Promise.reject(new Error('declined')))).rejects.toThrow('declined');
    // An error the caller says is not the dependency's fault does not count against it.
    await expect(nf.call('payments', () => Promise.reject(new Error('not found')), () => false)).rejects.toThrow('not found');
    nf.request(true, 10);
    nf.request(false, 5000);
    await nf.close();
    const calls = agent.posts.find((p) => p.path === '/v1/calls')!.body as { calls: { dependency: string; ok: boolean; durationMs: number; service: string }[] };
    expect(calls.calls.map((c) => [c.dependency, c.ok, c.service])).toEqual([
      ['payments', true, 'shop'],
      ['payments', false, 'shop'],
      ['payments', true, 'shop'],
    ]);
    expect(calls.calls.every((c) => c.durationMs >= 0)).toBe(true);
    expect(agent.posts.find((p) => p.path === '/v1/requests')!.body).toEqual({ total: 2, errors: 1, slow: 1, service: 'shop' });
  });

  it('fails fast without calling while the agent says the breaker is OPEN, and calls again once it is not', async () => {
    const breakers = [{ dependency: 'payments', state: 'OPEN', since: '2026-11-25T09:00:00.000Z' }];
    const agent = fakeAgent(breakers);
    const nf = new NinefoldClient({ service: 'shop', agentUrl: 'http://agent', fetch: agent.fetchFn, flushIntervalMs: 60_000 });
    await nf.flush();
    await new Promise((r) => setTimeout(r, 10)); // the first breaker refresh
    let called = 0;
    const err = await nf.call('payments', () => ++called).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BreakerOpenError);
    expect((err as BreakerOpenError).message).toContain('OPEN since 2026-11-25T09:00:00.000Z');
    expect(called).toBe(0);
    expect(await nf.call('inventory', () => ++called)).toBe(1);
    breakers[0].state = 'HALF_OPEN';
    await (nf as unknown as { refreshBreakers(): Promise<void> }).refreshBreakers();
    expect(await nf.call('payments', () => ++called)).toBe(2);
    await nf.close();
  });

  it('keeps reports while the agent is away and sends them when it is back; never fails the call', async () => {
    const down = fakeAgent([], { down: true });
    let agentDown = true;
    const up = fakeAgent();
    const fetchFn = ((input: string | URL | Request, init?: RequestInit) => (agentDown ? down.fetchFn(input, init) : up.fetchFn(input, init))) as typeof fetch;
    const nf = new NinefoldClient({ agentUrl: 'http://agent', fetch: fetchFn, flushIntervalMs: 60_000, maxPending: 3 });
    for (let i = 0; i < 5; i++) expect(await nf.call('db', () => i)).toBe(i);
    await nf.flush();
    expect(nf.dropped).toBe(2); // oldest dropped beyond maxPending
    agentDown = false;
    await nf.close();
    expect((up.posts[0].body as { calls: unknown[] }).calls).toHaveLength(3);
  });

  it('asks rate limits through the agent and fails open (or closed) when it cannot', async () => {
    const allowed = fakeAgent([], { rateLimit: { allowed: false, remaining: 0, retryAfterMs: 900 } });
    const nf = new NinefoldClient({ agentUrl: 'http://agent', fetch: allowed.fetchFn, flushIntervalMs: 60_000 });
    expect(await nf.rateLimit('login', 'user-1')).toEqual({ allowed: false, remaining: 0, retryAfterMs: 900 });
    await nf.close();
    const unavailable = new NinefoldClient({ agentUrl: 'http://agent', fetch: fakeAgent().fetchFn, flushIntervalMs: 60_000 });
    expect(await unavailable.rateLimit('login', 'user-1')).toEqual({ allowed: true, unavailable: true });
    await unavailable.close();
    const closed = new NinefoldClient({ agentUrl: 'http://agent', fetch: fakeAgent([], { down: true }).fetchFn, flushIntervalMs: 60_000, rateLimitFailOpen: false });
    expect(await closed.rateLimit('login', 'user-1')).toEqual({ allowed: false, unavailable: true });
    await closed.close();
  });
});
