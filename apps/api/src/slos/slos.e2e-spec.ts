import { io, type Socket } from 'socket.io-client';
import { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * SLOs against real heartbeats: request metrics in → SLI, budget, burn rates
 * and alert states out; an outage → the availability budget consumed is
 * exactly the outage's length.
 */
describe('SLOs (e2e)', () => {
  let stack: Stack;
  let agent: HttpClient;
  let viewer: HttpClient;
  let viewerKey: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // The leader evaluates every SLO each second here (30 s by default).
    stack = await startStack({ env: { SLO_EVALUATION_SECONDS: '1' } });
    ({ http: agent } = await stack.client('agent'));
    ({ http: viewer, key: viewerKey } = await stack.client('viewer'));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await stack?.stop();
  });

  it('says what is wrong with a definition', async () => {
    expect((await agent.post('/api/v1/heartbeats', { service: 'pay', instance: 'pay-1' })).status).toBe(202);
    await until(() => stack.admin.get('/api/v1/services/pay'), (r) => r.status === 200, 10_000);
    const cases: [Record<string, unknown>, string][] = [
      [{ service: 'pay', name: 'x', objective: 99.9, sli: { type: 'requests' } }, 'objective must be a fraction between 0.5 and 0.999999 (99.9 % is 0.999)'],
      [{ service: 'pay', name: 'x', objective: 0.999, sli: { type: 'errors' } }, 'sli.type must be availability, requests or latency'],
      [{ service: 'pay', name: 'x', objective: 0.999, sli: { type: 'latency' } }, 'sli.thresholdMs must be a number of milliseconds above 0 and at most 3600000 (latency SLIs need one)'],
      [{ service: 'pay', name: 'x', objective: 0.999, sli: { type: 'latency', thresholdMs: 0 } }, 'sli.thresholdMs must be a number of milliseconds above 0'],
      [{ service: 'pay', name: 'x', objective: 0.999, sli: { type: 'requests', thresholdMs: 300 } }, 'sli.thresholdMs applies to latency SLIs only, not requests'],
      [{ service: 'pay', name: 'x', objective: 0.999, sli: { type: 'requests' }, windowDays: 0 }, 'windowDays must be an integer from 1 to 90'],
      [{ service: 'pay', name: 'x', objective: 0.999, sli: { type: 'requests' }, window: 'weekly' }, 'window must be rolling or calendar_month'],
      [{ service: 'pay', name: 'x', objective: 0.999 }, 'sli must be an object { type }'],
    ];
    for (const [body, message] of cases) {
      const res = await stack.admin.post('/api/v1/slos', body);
      expect(res.status).toBe(400);
      expect(res.body.message.join('\n')).toContain(message);
    }
    expect((await stack.admin.post('/api/v1/slos', { service: 'nowhere', name: 'x', objective: 0.999, sli: { type: 'requests' } })).status).toBe(404);
    expect((await viewer.post('/api/v1/slos', { service: 'pay', name: 'x', objective: 0.999, sli: { type: 'requests' } })).status).toBe(403);
    // Nothing was stored.
    expect((await viewer.get('/api/v1/slos?service=pay')).body.items).toEqual([]);
  });

  it('turns reported requests into SLI, error budget, burn rates and alert states', async () => {
    const created = await stack.admin.post('/api/v1/slos', { service: 'pay', name: 'requests', objective: 0.999, sli: { type: 'requests' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    // 1,000 requests, 50 failed: a 5 % error ratio, 50 times what 99.9 % allows.
    expect((await agent.post('/api/v1/heartbeats', { service: 'pay', instance: 'pay-1', metrics: { requests: { total: 1000, errors: 50 } } })).status).toBe(202);
    const slo = await until(() => viewer.get(`/api/v1/slos/${id}`), (r) => r.status === 200 && r.body.sli.total === 1000, 15_000);
    expect(slo.body).toMatchObject({ service: 'pay', name: 'requests', objective: 0.999, window: 'rolling', windowDays: 30, sli: { type: 'requests', value: 0.95, good: 950, total: 1000 } });
    // The drain keeps each hour's and day's sums beside the minutes' (what windows longer than an hour, burn-downs and reports read).
    const hours = await stack.db.query(`SELECT sum(h.total)::int AS total, sum(h.errors)::int AS errors FROM request_hours h JOIN services s ON s.id = h.service_id WHERE s.name = 'pay'`);
    expect(hours.rows[0]).toEqual({ total: 1000, errors: 50 });
    const days = await stack.db.query(`SELECT sum(d.total)::int AS total, sum(d.errors)::int AS errors FROM request_days d JOIN services s ON s.id = d.service_id WHERE s.name = 'pay'`);
    expect(days.rows[0]).toEqual({ total: 1000, errors: 50 });
    expect(slo.body.errorBudget.allowedEvents).toBeCloseTo(1, 9);
    expect(slo.body.errorBudget.consumed).toBe(50);
    expect(slo.body.errorBudget.remaining).toBeCloseTo(-49, 9);
    const burnDown = (await viewer.get(`/api/v1/slos/${id}/budget`)).body.points;
    expect(burnDown).toHaveLength(30);
    expect(burnDown[burnDown.length - 1].remaining).toBeCloseTo(-49, 9);
    // Nothing counted before the requests came.
    expect(burnDown[0].remaining).toBeNull();
    for (const w of ['5m', '30m', '1h', '6h', '1d', '3d']) expect(slo.body.burnRates[w]).toBeCloseTo(50, 9);
    const alert = (a: { severity: string; longWindow: string }) => `${a.severity}:${a.longWindow}`;
    expect(slo.body.alerts.filter((a: { firing: boolean }) => a.firing).map(alert)).toEqual(['page:1h', 'page:6h', 'ticket:3d']);
    expect(slo.body.alerts[0]).toMatchObject({ shortWindow: '5m', burnRate: 14.4 });

    // The low-traffic guard: 1,000 requests are too few to page on for this team.
    const guarded = await stack.admin.post('/api/v1/slos', { service: 'pay', name: 'requests', objective: 0.999, sli: { type: 'requests' }, minEvents: 5000 });
    expect(guarded.status).toBe(200);
    expect(guarded.body.id).toBe(id);
    expect(guarded.body.alerts.filter((a: { firing: boolean }) => a.firing).map(alert)).toEqual(['ticket:3d']);
    expect(guarded.body.alerts[0].suppressed).toBe('only 1000 events in 1h (fewer than 5000): too few to page on');

    // The service lists it; the list filters by service; delete removes it.
    expect((await viewer.get('/api/v1/services/pay')).body.slos).toEqual([expect.objectContaining({ id, name: 'requests', objective: 0.999, sli: { type: 'requests' }, window: 'rolling', windowDays: 30 })]);
    expect((await viewer.get('/api/v1/slos?service=pay')).body.items.map((s: { id: string }) => s.id)).toEqual([id]);
    expect((await viewer.get('/api/v1/slos?service=other')).body.items).toEqual([]);
    expect((await stack.admin.delete(`/api/v1/slos/${id}`)).status).toBe(204);
    expect((await viewer.get(`/api/v1/slos/${id}`)).status).toBe(404);
    expect((await viewer.get('/api/v1/slos/not-an-id')).status).toBe(404);
  });

  it('turns reported latency buckets into a latency SLI: good = requests within the threshold, of those measured', async () => {
    // Cumulative buckets, as Prometheus' le: 700 within 100 ms, 940 within 300 ms, 990 within 1 s; 1,000 measured of 1,200 requests.
    const latencyMs = { '100': 700, '300': 940, '1000': 990, '+Inf': 1000 };
    const bad = await agent.post('/api/v1/heartbeats', { service: 'search', instance: 'search-1', metrics: { requests: { total: 1200, errors: 0, latencyMs: { '100': 700, '300': 600 } } } });
    expect(bad.status).toBe(400);
    expect(bad.body.message.join('\n')).toContain('metrics.requests.latencyMs["300"] must not be below metrics.requests.latencyMs["100"]: buckets are cumulative');
    expect((await agent.post('/api/v1/heartbeats', { service: 'search', instance: 'search-1', metrics: { requests: { total: 1200, errors: 5, latencyMs } } })).status).toBe(202);
    await until(() => stack.admin.get('/api/v1/services/search'), (r) => r.status === 200, 10_000);

    const fast = await stack.admin.post('/api/v1/slos', { service: 'search', name: 'fast', objective: 0.9, sli: { type: 'latency', thresholdMs: 300 } });
    expect(fast.status).toBe(201);
    const slo = await until(() => viewer.get(`/api/v1/slos/${fast.body.id}`), (r) => r.body.sli.total === 1000, 15_000);
    expect(slo.body.sli).toEqual({ type: 'latency', thresholdMs: 300, value: 0.94, good: 940, total: 1000 });
    // 60 slow of 1,000 where 10 % (100) may be: 60 % of the budget, burning at 0.6.
    expect(slo.body.errorBudget).toEqual({ allowedEvents: expect.closeTo(100, 9), consumed: 60, remaining: expect.closeTo(0.4, 9) });
    for (const w of ['5m', '1h', '3d']) expect(slo.body.burnRates[w]).toBeCloseTo(0.6, 9);

    // A threshold between bounds counts up to the largest bound below it (never a request that may have been slower); a tighter objective pages.
    const strict = await stack.admin.post('/api/v1/slos', { service: 'search', name: 'strict', objective: 0.99, sli: { type: 'latency', thresholdMs: 250 } });
    expect(strict.body.sli).toEqual({ type: 'latency', thresholdMs: 250, value: 0.7, good: 700, total: 1000 });
    expect(strict.body.alerts.filter((a: { firing: boolean }) => a.firing).map((a: { severity: string }) => a.severity)).toEqual(['page', 'page', 'ticket']);
    const burnDown = (await viewer.get(`/api/v1/slos/${strict.body.id}/budget`)).body.points;
    expect(burnDown[burnDown.length - 1].remaining).toBeCloseTo(1 - 300 / 10, 9);
    // The hour and day rollups keep the buckets for windows longer than an hour.
    const days = await stack.db.query(`SELECT d.latency_total::int AS measured, d.latency FROM request_days d JOIN services s ON s.id = d.service_id WHERE s.name = 'search'`);
    expect(days.rows).toEqual([{ measured: 1000, latency: { '100': 700, '300': 240, '1000': 50 } }]);
    expect((await viewer.get('/api/v1/services/search')).body.slos.map((o: { name: string; sli: unknown }) => [o.name, o.sli])).toEqual([
      ['fast', { type: 'latency', thresholdMs: 300 }],
      ['strict', { type: 'latency', thresholdMs: 250 }],
    ]);
    // The leader's evaluation stores the same figure.
    await until(() => viewer.get('/api/v1/services/search'), (r) => r.body.slos.every((o: { budgetRemaining: number | null }) => o.budgetRemaining !== null), 15_000);
    const stored = (await viewer.get('/api/v1/services/search')).body.slos;
    expect(stored.map((o: { budgetRemaining: number }) => o.budgetRemaining)).toEqual([expect.closeTo(0.4, 9), expect.closeTo(-29, 9)]);
  });

  it('counts an outage against the availability budget by exactly its length', async () => {
    const beat = (status: 'up' | 'down') => agent.post('/api/v1/heartbeats', { service: 'ledger', instance: 'ledger-1', status, intervalSeconds: 60 });
    expect((await beat('up')).status).toBe(202);
    await until(() => stack.admin.get('/api/v1/services/ledger'), (r) => r.body?.state === 'UP', 10_000);
    const created = await stack.admin.post('/api/v1/slos', { service: 'ledger', name: 'availability', objective: 0.999, sli: { type: 'availability' }, window: 'calendar_month' });
    expect(created.status).toBe(201);
    expect(created.body.errorBudget).toMatchObject({ consumed: 0, remaining: 1 });

    await new Promise((r) => setTimeout(r, 1000));
    expect((await beat('down')).status).toBe(202);
    await until(() => stack.admin.get('/api/v1/services/ledger'), (r) => r.body?.state === 'DOWN', 10_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await beat('up')).status).toBe(202);
    await until(() => stack.admin.get('/api/v1/services/ledger'), (r) => r.body?.state === 'UP', 10_000);

    // The outage as the state history recorded it.
    const history = (await viewer.get('/api/v1/services/ledger/history')).body.items.filter((h: { kind: string }) => h.kind === 'service');
    const downAt = Date.parse(history.find((h: { to: string }) => h.to === 'DOWN').at);
    const upAt = Date.parse(history.find((h: { from: string; to: string }) => h.from === 'DOWN' && h.to === 'UP').at);
    const outage = (upAt - downAt) / 1000;
    expect(outage).toBeGreaterThan(1.5);

    const slo = (await viewer.get(`/api/v1/slos/${created.body.id}`)).body;
    expect(slo.errorBudget.consumed).toBeCloseTo(outage, 6);
    expect(slo.sli.total - slo.sli.good).toBeCloseTo(outage, 6);
    const now = new Date();
    const days = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
    expect(slo.windowDays).toBe(days);
    expect(slo.windowStart).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString());
    expect(slo.errorBudget.allowedSeconds).toBeCloseTo(0.001 * days * 86_400, 6);
    expect(slo.errorBudget.remaining).toBeCloseTo(1 - outage / (0.001 * days * 86_400), 9);
    expect(slo.burnRates['5m']).toBeGreaterThan(1);

    // The burn-down counts from the service's first heartbeat, seconds ago: a point there with the whole budget
    // (none for the days of the month before it existed), then now, which is the figure above.
    const burnDown = await viewer.get(`/api/v1/slos/${created.body.id}/budget`);
    expect(burnDown.status).toBe(200);
    const points = burnDown.body.points as { at: string; remaining: number }[];
    expect(points).toHaveLength(2);
    const born = Math.min(...history.map((h: { at: string }) => Date.parse(h.at)));
    expect(Date.parse(points[0].at)).toBe(born);
    expect(points[0].remaining).toBe(1);
    expect(points.map((p) => Date.parse(p.at))).toEqual([...points.map((p) => Date.parse(p.at))].sort((a, b) => a - b));
    expect(points[points.length - 1].remaining).toBeCloseTo(slo.errorBudget.remaining, 4);
    expect((await viewer.get('/api/v1/slos/00000000-0000-0000-0000-000000000000/budget')).status).toBe(404);
  });

  it('has the leader evaluate every SLO: budget on the overview, slo.update and an slo.burn signal while it pages, resolved when it stops', async () => {
    const socket = io(stack.api.url, { path: '/ws', transports: ['websocket'], auth: { token: viewerKey }, reconnection: false });
    sockets.push(socket);
    const events: { event: string; payload: Record<string, unknown> }[] = [];
    socket.onAny((event: string, payload: Record<string, unknown>) => events.push({ event, payload }));
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
    expect(await socket.timeout(10_000).emitWithAck('subscribe', { rooms: ['service:shop'], snapshot: false })).toMatchObject({ ok: true });

    expect((await agent.post('/api/v1/heartbeats', { service: 'shop', instance: 'shop-1', metrics: { requests: { total: 2000, errors: 400 } } })).status).toBe(202);
    await until(() => stack.admin.get('/api/v1/services/shop'), (r) => r.status === 200, 10_000);
    const created = await stack.admin.post('/api/v1/slos', { service: 'shop', name: 'checkout-requests', objective: 0.99, sli: { type: 'requests' } });
    expect(created.status).toBe(201);

    // Within a few evaluations: stored on the SLO, shown as the service's budget on the overview.
    const service = await until(() => viewer.get('/api/v1/services/shop'), (r) => r.body.slos[0]?.evaluatedAt !== null && r.body.slos[0]?.firing.includes('page:1h'), 15_000);
    // 400 failed of 2,000 where 1 % (20) may fail: 20 times the budget.
    expect(service.body.slos[0].budgetRemaining).toBeCloseTo(1 - 400 / 20, 9);
    const overview = await viewer.get('/api/v1/overview?limit=500');
    expect(overview.body.items.find((i: { name: string }) => i.name === 'shop').budget).toEqual({ remaining: expect.closeTo(-19, 9), slo: 'checkout-requests' });
    expect(overview.body.totals.openSignals.critical).toBeGreaterThanOrEqual(1);
    await until(async () => events, (e) => e.some((x) => x.event === 'slo.update' && x.payload.name === 'checkout-requests'), 10_000);
    const burn = (severity: string) => (x: { event: string; payload: Record<string, unknown> }) => x.event === 'signal' && x.payload.kind === 'slo.burn' && x.payload.status === 'raised' && x.payload.dedupKey === `slo:${created.body.id}:${severity}`;
    const raised = await until(async () => events, (e) => e.some(burn('page')) && e.some(burn('ticket')), 10_000);
    expect(raised.find(burn('page'))!.payload).toMatchObject({ severity: 'critical', service: 'shop', message: expect.stringContaining('SLO checkout-requests of shop burns its error budget 20.0× too fast') });
    expect(raised.find(burn('ticket'))!.payload).toMatchObject({ severity: 'warning', service: 'shop' });

    // On /metrics, for Prometheus and Grafana.
    const labels = 'service="shop",slo="checkout-requests"';
    const metrics = await until(() => new HttpClient(stack.api.url).get('/metrics'), (r) => r.text.includes(`ninefold_slo_error_budget_remaining{${labels}}`), 10_000);
    const value = (line: string) => Number(metrics.text.split('\n').find((l) => l.startsWith(`${line} `))?.split(' ')[1]);
    expect(value(`ninefold_slo_objective{${labels}}`)).toBe(0.99);
    expect(value(`ninefold_slo_sli{${labels}}`)).toBeCloseTo(0.8, 9);
    expect(value(`ninefold_slo_error_budget_remaining{${labels}}`)).toBeCloseTo(-19, 9);
    expect(value(`ninefold_slo_burn_rate{${labels},window="1h"}`)).toBeCloseTo(20, 9);
    expect(value(`ninefold_slo_alert_firing{${labels},severity="page",long_window="1h"}`)).toBe(1);
    expect(value(`ninefold_slo_alert_firing{${labels},severity="ticket",long_window="3d"}`)).toBe(1);

    // Too few events to page on now: the page stops, its signal is resolved; the ticket stays.
    expect((await stack.admin.post('/api/v1/slos', { service: 'shop', name: 'checkout-requests', objective: 0.99, sli: { type: 'requests' }, minEvents: 1_000_000 })).status).toBe(200);
    await until(async () => events, (e) => e.some((x) => x.event === 'signal' && x.payload.dedupKey === `slo:${created.body.id}:page` && x.payload.status === 'resolved'), 10_000);
    const after = await until(() => viewer.get('/api/v1/services/shop'), (r) => !r.body.slos[0].firing.includes('page:1h'), 10_000);
    expect(after.body.slos[0].firing).toEqual(['ticket:3d']);
  });

  it('reports availability, downtime, outages and SLOs met per service, as JSON and CSV', async () => {
    const history = (await viewer.get('/api/v1/services/ledger/history')).body.items.filter((h: { kind: string }) => h.kind === 'service');
    const outage = (Date.parse(history.find((h: { from: string; to: string }) => h.from === 'DOWN' && h.to === 'UP').at) - Date.parse(history.find((h: { to: string }) => h.to === 'DOWN').at)) / 1000;

    const json = await viewer.get('/api/v1/reports/availability?service=ledger');
    expect(json.status).toBe(200);
    const now = new Date();
    expect(json.body.from).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString());
    expect(json.body.services).toHaveLength(1);
    const ledger = json.body.services[0];
    expect(ledger).toMatchObject({ service: 'ledger', outages: 1, incidents: 1 });
    expect(ledger.downtimeSeconds).toBeCloseTo(outage, 6);
    expect(ledger.availability).toBeCloseTo(1 - outage / ledger.knownSeconds, 9);
    expect(ledger.slos).toEqual([{ name: 'availability', sli: 'availability', objective: 0.999, value: expect.closeTo(ledger.availability, 12), met: false }]);

    const all = await viewer.get('/api/v1/reports/availability');
    const shop = all.body.services.find((r: { service: string }) => r.service === 'shop');
    expect(shop.slos).toEqual([{ name: 'checkout-requests', sli: 'requests', objective: 0.99, value: expect.closeTo(0.8, 12), met: false }]);
    const search = all.body.services.find((r: { service: string }) => r.service === 'search');
    expect(search.slos).toEqual([
      { name: 'fast', sli: 'latency', thresholdMs: 300, objective: 0.9, value: expect.closeTo(0.94, 12), met: true },
      { name: 'strict', sli: 'latency', thresholdMs: 250, objective: 0.99, value: expect.closeTo(0.7, 12), met: false },
    ]);

    const csv = await viewer.get('/api/v1/reports/availability?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="ninefold-availability-\d{4}-\d{2}-01-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('service,from,to,availability_percent,downtime_minutes,outages,incidents,slo,sli,objective_percent,slo_percent,slo_met,slo_threshold_ms');
    const shopLine = lines.find((l) => l.startsWith('shop,'))!.split(',');
    expect(shopLine.slice(7)).toEqual(['checkout-requests', 'requests', '99', '80', 'false', '']);
    const searchLines = lines.filter((l) => l.startsWith('search,')).map((l) => l.split(',').slice(7));
    expect(searchLines).toEqual([
      ['fast', 'latency', '90', '94', 'true', '300'],
      ['strict', 'latency', '99', '70', 'false', '250'],
    ]);
    const ledgerLine = lines.find((l) => l.startsWith('ledger,'))!.split(',');
    expect(Number(ledgerLine[4])).toBeCloseTo(outage / 60, 2);
    expect(ledgerLine[5]).toBe('1');
    // A service without SLOs still has its row.
    expect(lines.some((l) => l.startsWith('pay,') && l.endsWith(',,,,,,'))).toBe(true);

    for (const [query, message] of [
      ['?from=yesterday', 'from must be an ISO 8601 date or time'],
      ['?from=2026-11-02&to=2026-11-01', 'from must be before to'],
      ['?from=2020-01-01&to=2026-01-01', 'a report covers at most 400 days'],
      ['?format=xml', 'format must be json or csv'],
    ]) {
      const bad = await viewer.get(`/api/v1/reports/availability${query}`);
      expect(bad.status).toBe(400);
      expect(bad.body.message.join('\n')).toContain(message);
    }
    expect((await viewer.get('/api/v1/reports/availability?service=nothing-here')).status).toBe(404);
  });
});
