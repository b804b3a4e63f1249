#!/usr/bin/env node
// npm run bench:agent: what the ninefold-agent costs the host it runs on.
//
// A throwaway PostgreSQL and Redis, the real api and worker, and the agent as
// users install it (the bundle npm run build:agent packs) heartbeating 3 services every 10 s to them. The
// baseline, run at the same time, is an idle Node.js process (a timer and
// nothing else): what any Node program costs before doing anything. Reported,
// from /proc: CPU (% of one core) and resident memory (RSS now and its peak),
//   idle:  30 s of heartbeats only;
//   load:  30 s of 1,000 intake requests a second (POST /v1/calls, one call
//          each, over keep-alive connections from this process).
// Results go to docs/benchmarks.md between the bench:agent markers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, writeDocSection } from './lib/machine.mjs';
import { cleanup, spawnNode, startControlPlane, waitForLine } from './lib/stack.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`bench:agent: ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const RATE = 1000;

/** utime+stime in seconds, RSS and its peak in MiB, from /proc. */
function sample(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((status.match(new RegExp(`${k}:\\s+(\\d+)`)) ?? [])[1] ?? 0);
  // Clock ticks are 1/100 s on Linux (getconf CLK_TCK).
  return { cpu: (Number(stat[11]) + Number(stat[12])) / 100, rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

async function measure(pids, seconds, during) {
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, sample(p)]));
  const t0 = Date.now();
  let rssMax = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]));
  const work = during?.();
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(500);
    for (const [k, p] of Object.entries(pids)) rssMax[k] = Math.max(rssMax[k], sample(p).rss);
  }
  const extra = await work?.stop?.();
  const secs = (Date.now() - t0) / 1000;
  const out = {};
  for (const [k, p] of Object.entries(pids)) {
    const a = sample(p);
    out[k] = { cpuPct: ((a.cpu - before[k].cpu) / secs) * 100, rss: a.rss, rssMax: rssMax[k], hwm: a.hwm };
  }
  return { secs, ...out, extra };
}

/** RATE requests a second to the intake, paced every 10 ms, over 16 keep-alive sockets. */
function load(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const body = JSON.stringify({ dependency: 'payments', ok: true, durationMs: 12.5 });
  const slow = JSON.stringify({ dependency: 'payments', ok: false, durationMs: 450 });
  const start = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - start) / 1000) * RATE) - sent;
    for (let i = 0; i < due; i++) {
      sent++;
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/calls', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 202 ? ok++ : failed++));
      });
      req.on('error', () => failed++);
      req.end(sent % 20 === 0 ? slow : body);
    }
  }, 10);
  return {
    async stop() {
      clearInterval(timer);
      await sleep(500);
      agent.destroy();
      return { sent, ok, failed, seconds: (Date.now() - start) / 1000 };
    },
  };
}

async function main() {
  const { checkNode, ensureBuilt } = await import('../scripts/lib/setup.mjs');
  checkNode();
  ensureBuilt(log);
  // The agent as users install it: the one-file bundle of npm run build:agent.
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build-agent.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const agentBundle = path.join(root, 'dist', 'package-agent', 'ninefold-agent.mjs');
  const { freePort } = await import('../scripts/lib/ports.mjs');
  const cp = await startControlPlane();
  const apiUrl = cp.apiUrl;
  const key = await cp.key('agent');

  const intakePort = await freePort();
  const agent = spawnNode([agentBundle, 'run', '--url', apiUrl, '--instance', 'bench-host', '--service', 'web:8080', '--service', 'api:8081', '--service', 'jobs', '--interval', '10', '--intake-port', String(intakePort)], { NINEFOLD_KEY: key });
  const baseline = spawnNode(['-e', 'setInterval(() => {}, 1000)'], {});
  await waitForLine(agent, 'ninefold-agent started', 30_000, 'agent');
  log(`agent started; warming up 5 s, then ${SECONDS} s idle and ${SECONDS} s at ${RATE} intake requests/s`);
  await sleep(5000);
  const pids = { agent: agent.pid, baseline: baseline.pid };
  const idle = await measure(pids, SECONDS);
  log(`idle: agent ${idle.agent.cpuPct.toFixed(2)} % CPU, ${idle.agent.rss.toFixed(1)} MiB; baseline ${idle.baseline.cpuPct.toFixed(2)} %, ${idle.baseline.rss.toFixed(1)} MiB`);
  const loaded = await measure(pids, SECONDS, () => load(intakePort));
  log(`load: agent ${loaded.agent.cpuPct.toFixed(1)} % CPU, ${loaded.agent.rss.toFixed(1)} MiB; ${JSON.stringify(loaded.extra)}`);
  const status = await (await fetch(`http://127.0.0.1:${intakePort}/v1/status`)).json();

  // What reached the control plane: the calls in dependency_rollups.
  await sleep(11_000); // the next heartbeat carries the last window
  const pg = (await import('pg')).default;
  const db = new pg.Client({ connectionString: cp.databaseUrl });
  await db.connect();
  const { rows } = await db.query("SELECT coalesce(sum(calls),0)::text AS calls FROM dependency_rollups WHERE dependency = 'payments'");
  await db.end();

  const info = machineInfo(root);
  const machine = `${info.cores} cores (${info.cpu}), Node ${info.node}`;
  const commit = info.commit;
  const f1 = (v) => v.toFixed(1);
  const f2 = (v) => v.toFixed(2);
  const section = `<!-- bench:agent:start (written by npm run bench:agent; edits inside are overwritten) -->
## Agent footprint

What it does: a throwaway PostgreSQL and Redis, the api and a worker, and one
ninefold-agent as users install it (the one-file bundle \`npm run build:agent\` packs)
heartbeating 3 services every 10 s
to them, with its local intake on. The baseline, running at the same time, is an
idle Node.js process (\`node -e "setInterval(() => {}, 1000)"\`): what any Node
program costs before it does anything. CPU is utime + stime from /proc over the
run, as % of one core; RSS is sampled every 0.5 s.

- **idle**: ${SECONDS} s of heartbeats only, after a 5 s warm-up.
- **load**: ${SECONDS} s of ${RATE.toLocaleString('en-US')} intake requests a second (\`POST /v1/calls\`, one call each, every 20th a slow failure)
  from the benchmark process over 16 keep-alive connections.

Run: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} · machine: ${machine}, load average ${os.loadavg()[0].toFixed(2)} · commit ${commit}
Command: \`npm run bench:agent\`

| | ninefold-agent | idle Node.js (baseline) | agent − baseline |
| --- | --- | --- | --- |
| idle: CPU (% of a core) | ${f2(idle.agent.cpuPct)} | ${f2(idle.baseline.cpuPct)} | ${f2(idle.agent.cpuPct - idle.baseline.cpuPct)} |
| idle: RSS (MiB), largest sample | ${f1(idle.agent.rssMax)} | ${f1(idle.baseline.rssMax)} | ${f1(idle.agent.rssMax - idle.baseline.rssMax)} |
| load: CPU (% of a core) | ${f1(loaded.agent.cpuPct)} | ${f2(loaded.baseline.cpuPct)} | ${f1(loaded.agent.cpuPct - loaded.baseline.cpuPct)} |
| load: RSS (MiB), largest sample / peak (VmHWM) | ${f1(loaded.agent.rssMax)} / ${f1(loaded.agent.hwm)} | ${f1(loaded.baseline.rssMax)} / ${f1(loaded.baseline.hwm)} | |

| Load run | Result |
| --- | --- |
| intake requests sent / answered 202 / failed | ${loaded.extra.sent.toLocaleString('en-US')} / ${loaded.extra.ok.toLocaleString('en-US')} / ${loaded.extra.failed} (${Math.round(loaded.extra.ok / loaded.extra.seconds).toLocaleString('en-US')} per second) |
| calls of \`payments\` stored in dependency_rollups | ${Number(rows[0].calls).toLocaleString('en-US')} |
| agent heartbeats sent / dropped / rejected | ${status.push.sent} / ${status.push.dropped} / ${status.push.rejected} |

| Goal | Measured | |
| --- | --- | --- |
| under 50 MB RSS at idle | ${f1(idle.agent.rssMax * 1.048576)} MB (${f1(idle.agent.rssMax)} MiB) | ${idle.agent.rssMax * 1.048576 < 50 ? 'met' : '**not met**'} |
| under 50 MB RSS at ${RATE.toLocaleString('en-US')} intake requests/s | ${f1(loaded.agent.rssMax * 1.048576)} MB (${f1(loaded.agent.rssMax)} MiB); the idle Node.js runtime alone: ${f1(loaded.baseline.rssMax * 1.048576)} MB | ${loaded.agent.rssMax * 1.048576 < 50 ? 'met' : '**not met**'} |
| under 2 % of a core at idle | ${f2(idle.agent.cpuPct)} % | ${idle.agent.cpuPct < 2 ? 'met' : '**not met**'} |
<!-- bench:agent:end -->`;
  writeDocSection(root, 'agent', section);
  log('wrote docs/benchmarks.md');
  process.stdout.write(`${section}\n`);
}

main()
  .catch((err) => {
    process.stderr.write(`bench:agent: ${err.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
