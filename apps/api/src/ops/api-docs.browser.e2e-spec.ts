import path from 'node:path';
import type { Browser } from 'playwright-core';
import { ARTIFACTS, launchBrowser } from '../../../../test/support/browser.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';

/** The API documentation page, in a real (headless) Chromium: what a user automating over REST opens first. */
describe('API docs in a browser (e2e)', () => {
  let stack: Stack;
  let browser: Browser;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startStack({ workers: 0 }), launchBrowser()]);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('renders the OpenAPI document as Swagger UI, with the heartbeats operation', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.api.url}/api/docs`);
    await page.getByText('/api/v1/heartbeats').first().waitFor({ timeout: 20_000 });
    expect(await page.getByText('Report one heartbeat or a batch of up to 1,000').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'api-docs.png'), fullPage: false });
    expect(errors).toEqual([]);
    await page.close();
  });
});
