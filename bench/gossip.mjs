#!/usr/bin/env node
// npm run bench:gossip: how many protocol periods ("rounds") gossip needs to
// spread a change to every member of a group, for n = 8 ... 256, and what
// it costs in messages. Runs the real membership state machine
// (apps/agent/src/gossip/membership.ts) on the simulated network of
// apps/agent/src/gossip/simulation.ts: virtual time, so the figures do not
// depend on this machine's speed, only the run time does.
//
// For each n and each seed:
//   1. n agents start at random moments within the first period, all seeded
//      with the first one; rounds until every agent sees all n alive (join).
//   2. A steady window (5 periods; 30 in scenario B, one push-pull cycle):
//      messages and bytes (JSON, as sent over UDP) per member per period.
//   3. One random agent flips reachesControlPlane: rounds until every agent
//      sees the new value (pure dissemination).
//   4. Another random agent is killed: rounds until the first agent suspects
//      it, until the first declares it dead, and until every agent does.
//      "first dead → all dead" is the dissemination of the death.
//
// Prints a Markdown table and rewrites its section of docs/benchmarks.md
// (between <!-- bench:gossip:start --> and <!-- bench:gossip:end -->,
// appended at the end when absent; the rest of the file is kept as it is).
//
// Knobs (environment): BENCH_GOSSIP_SIZES (8,16,32,64,128,256),
// BENCH_GOSSIP_SEEDS (3), BENCH_WRITE_DOC (1; 0 = print only).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './lib/machine.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMMAND = 'npm run bench:gossip';
const SIZES = (process.env.BENCH_GOSSIP_SIZES || '8,16,32,64,128,256').split(',').map(Number);
const SEEDS = Number(process.env.BENCH_GOSSIP_SEEDS || 3);
const WRITE_DOC = process.env.BENCH_WRITE_DOC !== '0';

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

const machine = () => machineInfo(root);

/** One run of the four steps above; every duration in periods. */
function runOnce(Simulation, DEFAULT_GOSSIP_CONFIG, n, seed, config, window) {
  const period = DEFAULT_GOSSIP_CONFIG.periodMs;
  const sim = new Simulation({ seed, config });
  const ids = Array.from({ length: n }, (_, i) => `agent-${String(i).padStart(3, '0')}`);
  const firstSeen = new Map(); // `${id}:${state}` → virtual ms of the first observer
  sim.onChange((_observer, m, previous) => {
    if (m.state !== previous && !firstSeen.has(`${m.id}:${m.state}`)) firstSeen.set(`${m.id}:${m.state}`, sim.nowMs);
  });
  let tap = null;
  sim.onSend((from, to, message) => tap?.(message));
  sim.addNode(ids[0]);
  for (const id of ids.slice(1)) sim.addNode(id, { seeds: [sim.addressOf(ids[0])], delayMs: 1 + Math.floor(sim.random() * period) });
  const sees = (id, pred) => sim.running().filter((o) => o !== id).every((o) => pred(sim.node(o).member(id)));
  const limit = 120 * period;

  const join = sim.runUntil(() => sim.running().length === n && sim.running().every((o) => sim.node(o).alive().length === n), limit);
  if (join === undefined) throw new Error(`n=${n} seed=${seed}: no convergence`);

  let messages = 0;
  let bytes = 0;
  tap = (message) => {
    messages++;
    bytes += Buffer.byteLength(JSON.stringify(message));
  };
  sim.run(window * period);
  tap = null;

  const pick = () => ids[1 + Math.floor(sim.random() * (n - 1))];
  const flipped = pick();
  sim.node(flipped).setReachesControlPlane(true);
  const flip = sim.runUntil(() => sees(flipped, (m) => m?.reachesControlPlane === true), limit);

  let killed = pick();
  while (killed === flipped) killed = pick();
  const killedAt = sim.nowMs;
  sim.kill(killed);
  const allDead = sim.runUntil(() => sees(killed, (m) => m?.state === 'dead'), limit);
  if (flip === undefined || allDead === undefined) throw new Error(`n=${n} seed=${seed}: a change did not reach everyone`);
  const firstSuspect = (firstSeen.get(`${killed}:suspect`) ?? NaN) - killedAt;
  const firstDead = (firstSeen.get(`${killed}:dead`) ?? NaN) - killedAt;
  return {
    join: join / period,
    flip: flip / period,
    suspect: firstSuspect / period,
    dead: allDead / period,
    deadSpread: (allDead - firstDead) / period,
    msgs: messages / n / window,
    kib: bytes / n / window / 1024,
  };
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const max = (xs) => Math.max(...xs);
const f1 = (x) => x.toFixed(1);
const meanMax = (rows, k) => `${f1(mean(rows.map((r) => r[k])))} / ${f1(max(rows.map((r) => r[k])))}`;

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const SCENARIOS = [
  {
    title: 'A. Default parameters (push-pull with 2 members every round)',
    config: {},
    window: 5,
  },
  {
    title: 'B. Push-pull only every 30 rounds (`syncIntervalMs: 30000`): rumours alone carry the changes',
    config: { syncIntervalMs: 30_000 },
    window: 30, // one whole push-pull cycle
  },
];

const HEADER = [
  'n',
  'log2 n',
  'join: all see all alive',
  'reachesControlPlane flip → all',
  'flip ÷ log2 n',
  'first dead → all dead',
  'kill → first suspect',
  'kill → all dead',
  'suspicion timeout',
  'messages / member / round',
  'KiB / member / round',
];

function scenarioMd(results) {
  const rows = results.map(({ n, runs }) => [
    n,
    f1(Math.log2(n)),
    meanMax(runs, 'join'),
    `**${meanMax(runs, 'flip')}**`,
    (mean(runs.map((r) => r.flip)) / Math.log2(n)).toFixed(2),
    meanMax(runs, 'deadSpread'),
    meanMax(runs, 'suspect'),
    meanMax(runs, 'dead'),
    f1(5 * Math.max(1, Math.log10(n))),
    f1(mean(runs.map((r) => r.msgs))),
    f1(mean(runs.map((r) => r.kib))),
  ]);
  return table(HEADER, rows);
}

/** How the flip's mean rounds grew from the smallest to the largest n, against n and log2 n. */
function growth(results) {
  const first = results[0];
  const last = results.at(-1);
  const flip = (r) => mean(r.runs.map((x) => x.flip));
  const ratios = results.map((r) => flip(r) / Math.log2(r.n));
  return {
    from: first.n,
    to: last.n,
    rounds: flip(last) / flip(first),
    log: Math.log2(last.n) / Math.log2(first.n),
    minRatio: Math.min(...ratios),
    maxRatio: Math.max(...ratios),
  };
}

async function main() {
  const { checkNode, ensureBuilt } = await import('../scripts/lib/setup.mjs');
  checkNode();
  ensureBuilt(log); // builds when dist/ is missing or older than the sources
  const { Simulation } = await import('../dist/apps/agent/src/gossip/simulation.js');
  const { DEFAULT_GOSSIP_CONFIG } = await import('../dist/apps/agent/src/gossip/membership.js');
  const m = machine();
  const started = new Date();
  const t0 = performance.now();
  const all = [];
  for (const scenario of SCENARIOS) {
    const results = [];
    for (const n of SIZES) {
      const runs = [];
      for (let s = 1; s <= SEEDS; s++) {
        const t = performance.now();
        runs.push(runOnce(Simulation, DEFAULT_GOSSIP_CONFIG, n, n * 1000 + s, scenario.config, scenario.window));
        const brief = Object.fromEntries(Object.entries(runs.at(-1)).map(([k, v]) => [k, Number(v.toFixed(2))]));
        log(`${scenario.title.slice(0, 2)} n=${n} seed ${s}: ${JSON.stringify(brief)} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
      }
      results.push({ n, runs });
    }
    all.push({ scenario, results });
  }
  const seconds = (performance.now() - t0) / 1000;
  const c = DEFAULT_GOSSIP_CONFIG;
  const [a, b] = all.map((x) => growth(x.results));
  const sentence = (g) =>
    `from n = ${g.from} to n = ${g.to} (${g.to / g.from}× the members, log2 n ${g.log.toFixed(1)}×) the flip took ${g.rounds.toFixed(1)}× the rounds; "flip ÷ log2 n" stays between ${g.minRatio.toFixed(2)} and ${g.maxRatio.toFixed(2)}`;
  const md = `Run: ${started.toISOString().replace(/\.\d+Z$/, 'Z')} · machine: ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, Node ${m.node}, load average ${m.load} at the start · commit ${m.commit}
Command: \`${COMMAND}\` (${SEEDS} seeds per size and scenario; ${seconds.toFixed(0)} s of wall time for the whole run)

Durations are in rounds (protocol periods of ${c.periodMs} ms), mean / max over the seeds. Messages and
bytes are those sent per member and round during the steady window (the JSON as it goes into the
UDP datagram; IP/UDP headers not counted).

#### ${all[0].scenario.title}

${scenarioMd(all[0].results)}

#### ${all[1].scenario.title}

${scenarioMd(all[1].results)}

- **Dissemination grows with log n, not with n.** A: ${sentence(a)}. B, rumours only: ${sentence(b)}.
  (At small n part of a round is fixed cost, the wait for the next message, so the ratio between
  sizes overshoots that of log2 n a little.) The death of a member ("first dead → all dead")
  spreads the same way.
- **Failure detection** ("kill → all dead") is dominated by the suspicion timeout, ${c.suspectTimeoutMs / c.periodMs}
  periods × max(1, log10 n), which gives a suspect time to refute. The first suspicion ("kill → first
  suspect") does not grow with n: each member probes one other per round, so the killed member is
  probed by someone within e/(e-1) ≈ 1.6 rounds on average whatever n (SWIM's result), and is
  suspected at the end of that round.
- **Cost.** With push-pull every round (A), messages per member and round grow linearly with n: the
  whole state goes to ${c.fanout} members every round, about 8 entries per datagram of at most
  ${c.maxDatagramBytes} bytes, and the differing part comes back. Without it (B) a member sends a
  constant 2-3 messages per round (ping, ack, an occasional ping-req) plus a full exchange every 30
  rounds, and changes still reach everyone in O(log n) rounds; joins then wait for push-pull. For
  groups of more than a few dozen agents, B's setting is the better trade.
`;
  process.stdout.write(`\n${md}\n`);
  if (WRITE_DOC) {
    writeDoc(md);
    log('wrote docs/benchmarks.md');
  }
}

const DOC = path.join(root, 'docs', 'benchmarks.md');
const START = '<!-- bench:gossip:start -->';
const END = '<!-- bench:gossip:end -->';
const SECTION_INTRO = `<!-- written by npm run bench:gossip; edits between the bench:gossip markers are overwritten -->
## Gossip membership: rounds to reach every member

What it does: the agents' gossip membership (SWIM failure detection with push-pull anti-entropy and
rumours piggybacked on every message, apps/agent/src/gossip/, described in docs/gossip.md) run as the
real state machine on a simulated network in virtual time (apps/agent/src/gossip/simulation.ts):
one-way latency 1-10 ms, no loss, every agent ticking every 100 ms at its own phase, default
parameters unless the scenario says otherwise. For each group size n and each seed: n agents join
through one seed; after a steady window (5 rounds; in B 30, one push-pull cycle) in which messages
and bytes are counted, one agent flips reachesControlPlane and the rounds until every agent sees it
are counted; then another agent is killed and the rounds until the first suspicion, the first
death and every agent's verdict are counted. Virtual time: the figures do not depend on this
machine (the same seeds give the same table), only the wall time does.
`;

function writeDoc(resultsMd) {
  const section = `${START}\n${SECTION_INTRO}\n${resultsMd}${END}`;
  let doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const a = doc.indexOf('<!-- bench:gossip:start');
  const b = doc.indexOf(END);
  if (a >= 0 && b > a) doc = doc.slice(0, a) + section + doc.slice(b + END.length);
  else doc = `${doc.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(DOC, doc);
}

main().catch((err) => {
  log(`failed: ${err?.stack ?? err}`);
  process.exit(1);
});
