import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Screenshots of the browser tests (git-ignored). */
export const ARTIFACTS = path.join(root, 'test', 'artifacts');

/** The README's pictures of the product: written by the browser tests, so they show what the tests saw. */
export const DOC_IMAGES = path.join(root, 'docs', 'images');

/** A screenshot for the documentation (docs/images/<name>.png), taken where a browser test has the page in a state worth showing. */
export async function docScreenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  fs.mkdirSync(DOC_IMAGES, { recursive: true });
  await page.screenshot({ path: path.join(DOC_IMAGES, `${name}.png`), fullPage: opts.fullPage ?? false, animations: 'disabled' });
}

/** Debian's Chromium, headless, as scripts/test.mjs found or installed it (NINEFOLD_CHROMIUM). */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.NINEFOLD_CHROMIUM ?? '/usr/bin/chromium';
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}
