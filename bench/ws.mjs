#!/usr/bin/env node
// npm run bench:ws: how fast a state change reaches 1,000 dashboards.
//
// A throwaway PostgreSQL and Redis, one api and one worker; 1,000 socket.io
// clients (websocket transport, a viewer key) connect to the api and
// subscribe to one service's room, as a dashboard showing that service does.
// The benchmark then flips an instance of that service DOWN and UP again
// (a heartbeat with status down, then up) 10 times and times the arrival of
// each instance.state event at every client:
//   - end to end: from sending the heartbeat to the event at the client
//     (ingest stream, worker, transitions outbox, Redis, gateway, socket);
//   - from `at`: from the event's `at` (for a heartbeat-caused change, when the
//     api received the heartbeat) to the client.
// Baseline, in the same run: a bare socket.io server (the project's copy,
// websocket transport) broadcasting one event to 1,000 clients, timed from
// the emit to the arrival. Results go to docs/benchmarks.md (bench:ws markers).
//
// Then the dashboard's first paint with 10,000 services: 10,000 services are
// registered (heartbeats in batches of 1,000) and headless Chromium opens the
// overview, signed in, 5 times in fresh contexts (cold cache), timing from
// navigation start to the first tile painted and to every service loaded.
// Baseline, in the same run and browser: a static HTML page, served by a bare
// Node http server, listing the same first 120 services as plain markup.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, writeDocSection } from './lib/machine.mjs';
import { cleanup, spawnNode, startControlPlane, waitForLine } from './lib/stack.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`bench:ws: ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLIENTS = Number(process.env.BENCH_WS_CLIENTS ?? 1000);
const FLIPS = Number(process.env.BENCH_WS_FLIPS ?? 10);

function quantile(sorted, q) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function connectAll(io, url, opts, n) {
  const sockets = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => io(url, { transports: ['websocket'], reconnection: false, ...opts }));
    await Promise.all(batch.map((s) => new Promise((resolve, reject) => s.once('connect', resolve).once('connect_error', reject))));
    sockets.push(...batch);
  }
  return sockets;
}

/** The baseline server: bare socket.io; POST /emit broadcasts { sentAt } to every client. */
const BARE_SERVER = `
const http = require('node:http');
const { Server } = require(${JSON.stringify(path.join(root, 'node_modules', 'socket.io'))});
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/emit') { io.emit('tick', { sentAt: Date.now() }); res.end('ok'); return; }
  res.statusCode = 404; res.end();
});
const io = new Server(server, { path: '/ws', serveClient: false, transports: ['websocket'] });
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('bare socket.io listening'));
`;

const SERVICES = Number(process.env.BENCH_WS_SERVICES ?? 10_000);
const LOADS = 5;

/** Registers SERVICES services (one instance each, a heartbeat every hour) through the heartbeat API. */
async function registerServices(apiUrl, agentKey, adminKey) {
  for (let i = 0; i < SERVICES; i += 1000) {
    const heartbeats = Array.from({ length: Math.min(1000, SERVICES - i) }, (_, j) => ({ service: `svc-${String(i + j).padStart(5, '0')}`, instance: 'i-1', intervalSeconds: 3600 }));
    const res = await fetch(`${apiUrl}/api/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${agentKey}` }, body: JSON.stringify({ heartbeats }) });
    if (res.status !== 202) throw new Error(`heartbeats: HTTP ${res.status}`);
  }
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(1000)) {
    const o = await (await fetch(`${apiUrl}/api/v1/overview?limit=1`, { headers: { authorization: `Bearer ${adminKey}` } })).json();
    const n = Object.values(o.totals.services).reduce((a, b) => a + b, 0);
    if (n >= SERVICES && o.totals.services.UP >= SERVICES) return;
  }
  throw new Error(`${SERVICES} services were not all registered and UP within 2 minutes`);
}

/** In the page: when the first tile (or the baseline's first row) is painted, and when every service is loaded. */
const PAINT_PROBE = `
  new MutationObserver((_, obs) => {
    if (!window.__firstTile && document.querySelector('.tile, .row')) requestAnimationFrame(() => { window.__firstTile = performance.now(); });
    if (!window.__complete && /^([\\d,]+) of \\1 services$/.test(document.querySelector('[aria-live]')?.textContent ?? '')) { window.__complete = performance.now(); obs.disconnect(); }
  }).observe(document, { childList: true, subtree: true, characterData: true });
`;

async function timeLoads(browser, url, init, wantComplete) {
  const firstTile = [];
  const complete = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    if (init) await context.addInitScript(init);
    await context.addInitScript(PAINT_PROBE);
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.__firstTile, null, { timeout: 30_000 });
    firstTile.push(Math.round(await page.evaluate(() => window.__firstTile)));
    if (wantComplete) {
      await page.waitForFunction(() => window.__complete, null, { timeout: 60_000 });
      complete.push(Math.round(await page.evaluate(() => window.__complete)));
    }
    await context.close();
  }
  return { firstTile, complete };
}

async function firstPaint(apiUrl, agentKey, adminKey, viewerKey) {
  let t = Date.now();
  await registerServices(apiUrl, agentKey, adminKey);
  log(`${SERVICES.toLocaleString('en-US')} services registered and UP in ${Date.now() - t} ms`);
  const first = await (await fetch(`${apiUrl}/api/v1/overview?limit=120`, { headers: { authorization: `Bearer ${viewerKey}` } })).json();
  const rows = first.items.map((s) => `<div class="row"><b>${s.name}</b> ${s.state} ${s.instances.up}/${s.instances.total} up</div>`).join('');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>baseline</title></head><body>${rows}</body></html>`;
  const http = await import('node:http');
  const { freePort } = await import('../scripts/lib/ports.mjs');
  const port = await freePort();
  const server = http.createServer((_req, res) => res.setHeader('content-type', 'text/html; charset=utf-8').end(html));
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.NINEFOLD_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const session = JSON.stringify({ key: viewerKey, name: 'bench', role: 'viewer' });
    const baseline = await timeLoads(browser, `http://127.0.0.1:${port}/`, null, false);
    const dashboard = await timeLoads(browser, `${apiUrl}/`, `sessionStorage.setItem('ninefold.session', ${JSON.stringify(session)})`, true);
    log(`first tile: baseline ${baseline.firstTile.join('/')} ms; dashboard ${dashboard.firstTile.join('/')} ms; all ${SERVICES} loaded ${dashboard.complete.join('/')} ms`);
    return { baseline, dashboard };
  } finally {
    await browser.close();
    server.close();
  }
}

async function main() {
  const { checkNode, ensureBuilt } = await import('../scripts/lib/setup.mjs');
  checkNode();
  ensureBuilt(log);
  const { io } = await import('socket.io-client');
  const { freePort } = await import('../scripts/lib/ports.mjs');
  const { apiUrl, key } = await startControlPlane({ DETECTOR_SWEEP_MS: '100' });
  const agentKey = await key('agent');
  const viewerKey = await key('viewer');
  const beat = (status) =>
    fetch(`${apiUrl}/api/v1/heartbeats`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${agentKey}` }, body: JSON.stringify({ service: 'ws-bench', instance: 'ws-1', status, intervalSeconds: 60 }) });
  await beat('up');
  await sleep(1000);

  // --- baseline: bare socket.io -------------------------------------------------
  const barePort = await freePort();
  const bare = spawnNode(['-e', BARE_SERVER], { PORT: String(barePort) });
  await waitForLine(bare, 'listening', 10_000, 'bare socket.io');
  const bareUrl = `http://127.0.0.1:${barePort}`;
  let t = Date.now();
  const bareSockets = await connectAll(io, bareUrl, { path: '/ws' }, CLIENTS);
  log(`baseline: ${CLIENTS} clients connected to bare socket.io in ${Date.now() - t} ms`);
  const bareLat = [];
  for (const s of bareSockets) s.on('tick', (p) => bareLat.push(Date.now() - p.sentAt));
  for (let i = 0; i < FLIPS * 2; i++) {
    await fetch(`${bareUrl}/emit`, { method: 'POST' });
    await sleep(500);
  }
  await sleep(1000);
  for (const s of bareSockets) s.close();

  // --- Ninefold -----------------------------------------------------------------
  t = Date.now();
  const sockets = await connectAll(io, apiUrl, { path: '/ws', auth: { token: viewerKey } }, CLIENTS);
  const connectMs = Date.now() - t;
  log(`Ninefold: ${CLIENTS} clients connected in ${connectMs} ms; subscribing to service:ws-bench`);
  await Promise.all(sockets.map((s) => s.timeout(30_000).emitWithAck('subscribe', { rooms: ['service:ws-bench'] })));
  const sentAt = new Map(); // state → send time of the heartbeat that causes it
  const endToEnd = [];
  const fanOut = [];
  let received = 0;
  for (const s of sockets) {
    s.on('instance.state', (p) => {
      if (p.service !== 'ws-bench') return;
      const now = Date.now();
      received++;
      const sent = sentAt.get(p.state);
      if (sent !== undefined) endToEnd.push(now - sent);
      fanOut.push(now - Date.parse(p.at));
    });
  }
  for (let i = 0; i < FLIPS; i++) {
    for (const status of ['down', 'up']) {
      sentAt.set(status === 'down' ? 'DOWN' : 'UP', Date.now());
      await beat(status);
      await sleep(1500);
    }
  }
  await sleep(2000);
  const expected = CLIENTS * FLIPS * 2;
  for (const s of sockets) s.close();

  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1] };
  };
  const paint = await firstPaint(apiUrl, agentKey, await key('admin'), viewerKey);
  const median = (xs) => quantile([...xs].sort((a, b) => a - b), 0.5);
  const fp = { base: median(paint.baseline.firstTile), tile: median(paint.dashboard.firstTile), tileMax: Math.max(...paint.dashboard.firstTile), all: median(paint.dashboard.complete) };

  const b = stats(bareLat);
  const e = stats(endToEnd);
  const f = stats(fanOut);
  log(`baseline p50/p99 ${b.p50}/${b.p99} ms; Ninefold fan-out p50/p99 ${f.p50}/${f.p99} ms, end to end ${e.p50}/${e.p99} ms; ${received}/${expected} events`);

  const m = machineInfo(root);
  const section = `<!-- bench:ws:start (written by npm run bench:ws; edits inside are overwritten) -->
## Live events to 1,000 clients

What it does: a throwaway PostgreSQL and Redis, one api and one worker; ${CLIENTS.toLocaleString('en-US')} socket.io clients
(websocket transport, a viewer key) in the benchmark process connect to the api and subscribe to one
service's room, as a dashboard showing that service does. An instance of that service is flipped DOWN and
UP ${FLIPS} times (heartbeats with status down, then up, 1.5 s apart) and every client times every
\`instance.state\` event. *From \`at\`* runs from the event's \`at\` (for a change a heartbeat causes, the time
the api received that heartbeat) to its arrival; *end to end* from sending the heartbeat. Both cover the
ingest stream, the worker, the transitions outbox, Redis, the gateway and the socket. Baseline in the same run: a bare socket.io server (the project's copy) broadcasting to
${CLIENTS.toLocaleString('en-US')} clients, from the emit to the arrival. Clients, servers, PostgreSQL and Redis share the 2 cores.

First paint: ${SERVICES.toLocaleString('en-US')} services registered (one instance each); headless Chromium (1440×900)
opens the overview signed in with a viewer key, ${LOADS} times, each in a fresh context (cold cache), timed from
navigation start to the first tile painted, and to every service loaded (the first page of 120 paints;
the rest arrives behind it in pages of 500). Baseline in the same run and browser: a static HTML page from a
bare Node http server listing the same first 120 services as plain markup.

Run: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} · machine: ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, Node ${m.node}, load average ${m.load} at the start · commit ${m.commit}
Command: \`npm run bench:ws\`

| | events received | p50 | p99 | max |
| --- | --- | --- | --- | --- |
| baseline: bare socket.io broadcast | ${b.n.toLocaleString('en-US')} of ${(CLIENTS * FLIPS * 2).toLocaleString('en-US')} | ${b.p50} ms | ${b.p99} ms | ${b.max} ms |
| Ninefold: event \`at\` → client | ${f.n.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} | ${f.p50} ms | **${f.p99} ms** | ${f.max} ms |
| Ninefold: end to end (heartbeat sent → client) | ${e.n.toLocaleString('en-US')} | ${e.p50} ms | ${e.p99} ms | ${e.max} ms |

Connecting ${CLIENTS.toLocaleString('en-US')} clients (authenticated handshakes, 50 at a time): ${connectMs.toLocaleString('en-US')} ms.

| First paint, ${SERVICES.toLocaleString('en-US')} services (${LOADS} cold loads) | median | all loads | ratio to baseline |
| --- | --- | --- | --- |
| baseline: static HTML, first 120 services | ${fp.base} ms | ${paint.baseline.firstTile.join(', ')} ms | 1 |
| dashboard: first tile painted | **${fp.tile} ms** | ${paint.dashboard.firstTile.join(', ')} ms | ${(fp.tile / fp.base).toFixed(1)} |
| dashboard: all ${SERVICES.toLocaleString('en-US')} services loaded | ${fp.all} ms | ${paint.dashboard.complete.join(', ')} ms | – |

| Goal | Measured | |
| --- | --- | --- |
| a state change reaches 1,000 clients, p99 ≤ 250 ms | end to end p99 ${e.p99} ms (from \`at\` ${f.p99} ms); ${received === expected ? 'every client got every event' : `**${expected - received} events missing**`} | ${e.p99 <= 250 && received === expected ? 'met' : '**not met**'} |
| overview first paint with ${SERVICES.toLocaleString('en-US')} services under 1.5 s (headless Chromium) | median ${fp.tile} ms, slowest of ${LOADS} loads ${fp.tileMax} ms | ${fp.tileMax < 1500 ? 'met' : '**not met**'} |
<!-- bench:ws:end -->`;
  writeDocSection(root, 'ws', section);
  log('wrote docs/benchmarks.md');
  process.stdout.write(`${section}\n`);
}

main()
  .catch((err) => {
    process.stderr.write(`bench:ws: ${err.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
