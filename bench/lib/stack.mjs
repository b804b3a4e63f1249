// What the agent and ws benchmarks start: child Node processes (killed on exit
// or a signal), and a control plane (throwaway PostgreSQL and Redis, one api,
// one worker) with a way to make API keys.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
let services;

/** Kills every child and stops PostgreSQL and Redis. */
export async function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await services?.stop?.().catch(() => undefined);
}
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => cleanup().finally(() => process.exit(130)));

/** A Node child process whose output lines are kept in `lines`. */
export function spawnNode(args, env) {
  const c = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', TZ: 'UTC', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  c.lines = [];
  const collect = (d) => c.lines.push(...d.toString().split('\n').filter(Boolean));
  c.stdout.on('data', collect);
  c.stderr.on('data', collect);
  children.push(c);
  return c;
}

/** Waits until a line of `child` contains `text`; throws with its output if it exits or takes longer than `timeoutMs`. */
export async function waitForLine(child, text, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!child.lines.some((l) => l.includes(text))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${what} did not start:\n${child.lines.join('\n')}`);
    await sleep(100);
  }
}

/** Throwaway PostgreSQL and Redis, stopped by {@link cleanup}: `{ databaseUrl, redisUrl }`. */
export async function startServices() {
  const { startEphemeralServices } = await import('../../scripts/lib/ephemeral.mjs');
  services = await startEphemeralServices({ redis: true, log: () => undefined });
  return services;
}

/**
 * Throwaway PostgreSQL and Redis, one api and one worker (built dist/), ready.
 * `env` adds to the processes' environment. Returns the api URL, the
 * database URL and `key(role)`, which makes an API key of that role.
 */
export async function startControlPlane(env = {}) {
  const { freePort } = await import('../../scripts/lib/ports.mjs');
  await startServices();
  const adminKey = `nf-bench-${randomBytes(16).toString('hex')}`;
  const apiPort = await freePort();
  const common = { DATABASE_URL: services.databaseUrl, REDIS_URL: services.redisUrl, NINEFOLD_ADMIN_KEY: adminKey, LOG_LEVEL: 'warn', LOG_REQUESTS: 'false', DNS_PORT: '0', ...env };
  spawnNode([path.join(root, 'dist', 'apps', 'api', 'main.js')], { ...common, PORT: String(apiPort), HOST: '127.0.0.1' });
  spawnNode([path.join(root, 'dist', 'apps', 'worker', 'main.js')], common);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${apiUrl}/readyz`)).ok) break;
    } catch {
      // starting
    }
    if (i > 600) throw new Error('api did not start');
    await sleep(100);
  }
  const key = async (role) => {
    const res = await fetch(`${apiUrl}/api/v1/keys`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` }, body: JSON.stringify({ name: `bench-${role}`, role }) });
    return (await res.json()).key;
  };
  return { apiUrl, databaseUrl: services.databaseUrl, key };
}
