import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { ARTIFACTS, docScreenshot, launchBrowser } from '../../../../test/support/browser.js';
import { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';
import { until } from '../../../../test/support/until.js';

/**
 * The dashboard and the public status page in a real headless Chromium,
 * against the real api and worker: what a user signs in to and watches.
 */
describe('dashboard and status page in a browser (e2e)', () => {
  let stack: Stack;
  let browser: Browser;
  let agent: HttpClient;
  let viewerKey: string;
  let beating: NodeJS.Timeout | undefined;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  const beat = (service: string, instance: string, extra: Record<string, unknown> = {}) => agent.post('/api/v1/heartbeats', { service, instance, intervalSeconds: 1, ...extra });

  async function newPage(opts: { width?: number; height?: number; dark?: boolean } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 }, colorScheme: opts.dark ? 'dark' : 'light' });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return page;
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${stack.api.url}/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.tile').first().waitFor({ timeout: 20_000 });
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`) });

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack({ env: { NINEFOLD_STATUS_TITLE: 'Acme status', SLO_EVALUATION_SECONDS: '1' } }), launchBrowser()]);
    ({ http: agent } = await stack.client('agent'));
    ({ key: viewerKey } = await stack.client('viewer'));
    expect((await stack.admin.post('/api/v1/services', { name: 'web-shop', description: 'The storefront', survivalGoal: 'zone' })).status).toBe(201);
    expect((await stack.admin.post('/api/v1/services', { name: 'ledger', public: false })).status).toBe(201);
    for (const [service, instance, zone] of [['web-shop', 'web-shop-1', 'eu-1a'], ['web-shop', 'web-shop-2', 'eu-1b'], ['ledger', 'ledger-1', 'eu-1a']]) {
      expect((await beat(service, instance, { zone, intervalSeconds: 3600 })).status).toBe(202);
    }
    // A service whose heartbeats keep coming (every 300 ms, 1 s interval) until a test stops them.
    beating = setInterval(() => void beat('cart', 'cart-1').catch(() => undefined), 300);
    await until(() => stack.admin.get('/api/v1/services/cart'), (r) => r.status === 200 && r.body.state === 'UP', 15_000);
  });

  afterAll(async () => {
    clearInterval(beating);
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await stack?.stop();
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('serves the built pages with a content security policy, and hashed assets cached for a year and compressed', async () => {
    const anonymous = new HttpClient(stack.api.url);
    const home = await anonymous.get('/');
    expect(home.status).toBe(200);
    expect(home.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(home.headers.get('cache-control')).toBe('no-cache');
    // A reload on a deep link opens the same app.
    expect((await anonymous.get('/services/web-shop')).text).toBe(home.text);
    const script = /src="(\/assets\/main-[^"]+\.js)"/.exec(home.text)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${stack.api.url}${script}`, { headers: { 'accept-encoding': 'br' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-encoding')).toBe('br');
    expect((await anonymous.get('/status')).headers.get('content-security-policy')).toContain('frame-ancestors *');
    expect((await anonymous.get('/index.html')).status).toBe(404);
  });

  it('refuses a wrong key with a clear message, then signs in and shows every service as a tile with its state in words', async () => {
    const page = await newPage();
    await page.goto(`${stack.api.url}/`);
    await page.getByLabel('API key').fill('nf_not_a_real_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('This key is not accepted').waitFor();
    await page.getByLabel('API key').fill(stack.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const tile = page.locator('.tile[data-service="web-shop"]');
    await tile.locator('.badge[data-state="UP"]').waitFor({ timeout: 20_000 });
    await expect(tile.textContent()).resolves.toContain('2/2 up');
    await page.locator('[data-live="live"]').waitFor();
    expect(await page.locator('.tile').count()).toBe(3);
    await shot(page, 'overview');
    await docScreenshot(page, 'dashboard');

    // "/" jumps to the search; the filter narrows the grid.
    await page.keyboard.press('/');
    await page.keyboard.type('web');
    // The search is kept in the address (for sharing) as it is typed.
    await until(async () => new URL(page.url()).searchParams.get('q'), (q) => q === 'web', 5000);
    expect(await page.locator('.search input').inputValue()).toBe('web');
    expect(await page.locator('.tile').count()).toBe(1);
    expect(await page.locator('.tile').getAttribute('data-service')).toBe('web-shop');
  });

  it('turns a service DOWN on screen, without a reload, when its heartbeats stop', async () => {
    const page = await newPage();
    await signIn(page, stack.adminKey);
    const tile = page.locator('.tile[data-service="cart"]');
    await tile.locator('.badge[data-state="UP"]').waitFor();
    // Page-side code as strings: this file is compiled without the DOM's types.
    await page.evaluate('window.marker = 42');

    clearInterval(beating);
    // ttl 3 s + grace 1 s after the last heartbeat, pushed over the WebSocket.
    await tile.locator('.badge[data-state="DOWN"]').waitFor({ timeout: 20_000 });
    expect(await tile.getAttribute('class')).toContain('tile-down');
    expect(await page.evaluate('window.marker')).toBe(42);
    // The worst comes first.
    expect(await page.locator('.tile').first().getAttribute('data-service')).toBe('cart');
    await shot(page, 'service-down');

    // Its page shows the instance DOWN, why, and the changes.
    await tile.click();
    await page.locator('tr[data-instance="cart-1"][data-state="DOWN"]').waitFor();
    // Its own availability: down since a moment ago, so below 100 % over 30 days.
    expect(await page.locator('tr[data-instance="cart-1"] [data-availability]').textContent()).toMatch(/^\d{1,2}\.\d+ %$/);
    await page.locator('[data-panel="history"] li').first().waitFor();
    expect(await page.locator('[data-panel="history"]').textContent()).toContain('up →');
    expect(await page.getByRole('button', { name: 'Deregister' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Delete service' }).count()).toBe(1);
    await shot(page, 'service-page');

    // And back UP, live, on the same page.
    expect((await beat('cart', 'cart-1')).status).toBe(202);
    await page.locator('tr[data-instance="cart-1"][data-state="UP"]').waitFor({ timeout: 15_000 });
  });

  it('shows a viewer no operator or admin buttons', async () => {
    const page = await newPage();
    await signIn(page, viewerKey);
    await page.goto(`${stack.api.url}/services/web-shop`);
    await page.locator('tr[data-instance="web-shop-1"]').waitFor();
    // The buttons follow the OpenAPI document's x-ninefold-roles, read once per tab.
    await page.locator('.who[data-permissions="loaded"]').waitFor();
    await page.locator('[data-panel="uptime"] .bars').waitFor();
    expect(await page.locator('.role').textContent()).toBe('viewer');
    expect(await page.getByRole('button', { name: 'Deregister' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete service' }).count()).toBe(0);
    await page.goto(`${stack.api.url}/agents`);
    await page.getByRole('heading', { name: 'Agents', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Forget' }).count()).toBe(0);
    await shot(page, 'viewer');
  });

  it('shows an operator the instance actions but not the admin ones', async () => {
    const page = await newPage();
    await signIn(page, (await stack.client('operator')).key);
    await page.goto(`${stack.api.url}/services/web-shop`);
    await page.locator('tr[data-instance="web-shop-1"]').waitFor();
    await page.locator('.who[data-permissions="loaded"]').waitFor();
    expect(await page.locator('.role').textContent()).toBe('operator');
    // One per instance.
    expect(await page.getByRole('button', { name: 'Deregister' }).count()).toBe(await page.locator('tr[data-instance]').count());
    expect(await page.getByRole('button', { name: 'Deregister' }).count()).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: 'Delete service' }).count()).toBe(0);
  });

  it("shows a service's SLOs: SLI against objective, budget, burn rates and alerts, and the budget on its tile", async () => {
    expect((await beat('web-shop', 'web-shop-1', { zone: 'eu-1a', intervalSeconds: 3600, metrics: { requests: { total: 1000, errors: 300, latencyMs: { '250': 900, '+Inf': 1000 } } } })).status).toBe(202);
    const slo = await stack.admin.post('/api/v1/slos', { service: 'web-shop', name: 'checkout-requests', objective: 0.99, sli: { type: 'requests' } });
    expect(slo.status).toBe(201);
    expect((await stack.admin.post('/api/v1/slos', { service: 'web-shop', name: 'checkout-latency', objective: 0.95, sli: { type: 'latency', thresholdMs: 250 } })).status).toBe(201);
    await until(() => stack.admin.get(`/api/v1/slos/${slo.body.id}`), (r) => r.body.sli.total === 1000, 15_000);
    const page = await newPage();
    await signIn(page, viewerKey);
    // The leader's evaluation reaches the tile: 300 failed where 10 are allowed.
    await page.locator('.tile[data-service="web-shop"]').getByText('budget spent').waitFor({ timeout: 20_000 });
    await page.locator('.tile[data-service="web-shop"]').click();
    const card = page.locator('[data-panel="slos"] [data-slo="checkout-requests"]');
    await card.waitFor();
    await card.locator('[data-alert="firing"]').waitFor();
    const text = (await card.textContent()) ?? '';
    expect(text).toContain('70.00 %');
    expect(text).toContain('/ 99.00 %');
    expect(text).toContain('300 failed, 10 allowed');
    expect(await card.locator('li[data-firing="true"]').count()).toBe(3);
    // The burn-down chart of the budget.
    await card.locator('.budget-chart canvas').waitFor();
    // A latency SLO says its threshold and counts slow requests: 100 of 1,000 took over 250 ms where 5 % (50) may.
    const latency = page.locator('[data-panel="slos"] [data-slo="checkout-latency"]');
    const latencyText = (await latency.textContent()) ?? '';
    expect(latencyText).toContain('latency ≤ 250 ms');
    expect(latencyText).toContain('90.00 %');
    expect(latencyText).toContain('100 slow, 50 allowed');
    await docScreenshot(page, 'service', { fullPage: true });
    // A maintenance window shows on the service page, and its time is left out of availability.
    const window = await stack.admin.post('/api/v1/services/web-shop/maintenance', { durationMinutes: 30, reason: 'database upgrade' });
    expect(window.status).toBe(201);
    await page.reload();
    const line = page.locator(`[data-maintenance="${window.body.id}"]`);
    await line.waitFor();
    expect(await line.textContent()).toContain('In maintenance until');
    expect(await line.textContent()).toContain('database upgrade');
    expect((await stack.admin.delete(`/api/v1/services/web-shop/maintenance/${window.body.id}`)).status).toBe(204);
    await page.locator('[data-panel="slos"]').screenshot({ path: path.join(ARTIFACTS, 'dashboard-slos.png') });
  });

  it('works at phone width and in the dark theme, by keyboard', async () => {
    const page = await newPage({ width: 390, height: 844, dark: true });
    await signIn(page, viewerKey);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const background = () => page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    // The system's dark scheme, then the theme button's choices: dark, light.
    expect(await background()).toBe('rgb(14, 17, 22)');
    await page.getByRole('button', { name: /^Theme:/ }).click();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.getByRole('button', { name: /^Theme:/ }).click();
    expect(await background()).toBe('rgb(246, 247, 249)');
    await page.getByRole('button', { name: /^Theme:/ }).click();
    await page.getByRole('button', { name: 'Theme: system' }).waitFor();
    expect(await background()).toBe('rgb(14, 17, 22)');
    // Colours change with a 0.3 s transition: let it finish before the picture.
    await page.waitForTimeout(500);
    await shot(page, 'phone-dark');
    // Tab to the first tile, arrow down to the next, Enter opens it.
    await page.locator('.tile').first().focus();
    const first = await page.locator('.tile').first().getAttribute('data-service');
    await page.keyboard.press('ArrowDown');
    const focused = await until(() => page.evaluate<string | null>("document.activeElement?.getAttribute('data-service') ?? null"), (f) => f !== null && f !== first, 5000);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/services/${focused}`);
  });

  it('serves the public status page without a key: public services only, updated live', async () => {
    const page = await newPage();
    await page.goto(`${stack.api.url}/status`);
    await page.getByRole('heading', { name: 'Acme status' }).waitFor();
    const shop = page.locator('.status-service[data-service="web-shop"]');
    await shop.waitFor();
    expect(await page.locator('.status-service[data-service="ledger"]').count()).toBe(0);
    expect(await shop.locator('.bar').count()).toBe(90);
    await page.locator('[data-live="live"]').waitFor();

    // web-shop goes down: the page says so without a reload.
    expect((await beat('web-shop', 'web-shop-1', { status: 'down' })).status).toBe(202);
    expect((await beat('web-shop', 'web-shop-2', { status: 'down' })).status).toBe(202);
    await shop.locator('.badge[data-state="DOWN"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-overall="partial_outage"], [data-overall="major_outage"]').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page.png') });
    await docScreenshot(page, 'status-page');
  });

  it('tells a status page visitor refused live updates (too many connections from the address) that it updates every minute', async () => {
    // STATUS_WS_MAX_PER_ADDRESS (20) taken from this machine's address: the browser's is the 21st.
    const taken = Array.from({ length: 20 }, () => io(`${stack.api.url}/status`, { path: '/ws', transports: ['websocket'], reconnection: false }));
    try {
      await Promise.all(taken.map((s) => new Promise<void>((resolve, reject) => s.once('connect', () => resolve()).once('connect_error', reject))));
      const page = await newPage();
      await page.goto(`${stack.api.url}/status`);
      await page.getByRole('heading', { name: 'Acme status' }).waitFor();
      await page.locator('[data-live="polling"]').waitFor();
      expect(await page.locator('[data-live]').textContent()).toContain('Updated every minute');
      // The figures are there all the same (from GET /api/v1/status).
      await page.locator('.status-service[data-service="web-shop"]').waitFor();
    } finally {
      for (const s of taken) s.close();
    }
  });
});
