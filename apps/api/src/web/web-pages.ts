import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { installRoot } from '#core';

/** Where `npm run build` puts the web UI (apps/dashboard/vite.config.mjs). */
export function dashboardDir(): string {
  return path.join(installRoot(), 'dist', 'dashboard');
}

/** An HTML page with the headers it is served with. */
export interface WebPage {
  html: string;
  headers: Record<string, string>;
}

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Ninefold</title>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem">
<h1>Ninefold is running</h1>
<p>The web UI is not built in this installation: run <code>npm run build</code> (or <code>npm start</code>, which builds it) and restart the api.</p>
<p>The API works without it: see <a href="/api/docs">/api/docs</a>.</p></body></html>`;

/**
 * Reads a built page once, at start, and the Content-Security-Policy that
 * fits it: scripts and styles from this origin only, plus the page's own
 * inline scripts by their hash (index.html sets the theme before the first
 * paint), live updates over this origin's WebSocket.
 */
export function loadPage(file: 'index.html' | 'status.html', opts: { framable: boolean }): WebPage {
  const full = path.join(dashboardDir(), file);
  const html = existsSync(full) ? readFileSync(full, 'utf8') : NOT_BUILT;
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    // uPlot and the virtual list position elements with style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "base-uri 'none'",
    "form-action 'self'",
    // The public status page may be embedded in a company's own site; the dashboard may not.
    `frame-ancestors ${opts.framable ? '*' : "'none'"}`,
  ].join('; ');
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // Always revalidated: a new build's asset names reach the browser at once.
      'cache-control': 'no-cache',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    },
  };
}
