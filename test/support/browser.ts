import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Screenshots of the browser tests (git-ignored). */
export const ARTIFACTS = path.join(root, 'test', 'artifacts');

/** Debian's Chromium, headless, as scripts/test.mjs found or installed it (NINEFOLD_CHROMIUM). */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.NINEFOLD_CHROMIUM ?? '/usr/bin/chromium';
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}
