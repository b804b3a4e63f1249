import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpClient } from './support/http.js';
import { freePort } from './support/processes.js';
import { until } from './support/until.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * `npm start` as a user runs it: from a terminal (its own process group, as a
 * shell gives it), with its embedded PostgreSQL and Redis in a directory of
 * their own (NINEFOLD_HOME). What it prints, how it stops on Ctrl-C (SIGINT
 * to the whole group) and on `kill -TERM <pid of npm>`, and `npm run
 * admin-key` while it runs.
 */
describe('npm start (e2e)', () => {
  let home: string;
  let env: Record<string, string>;
  let url: string;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'nf-npm-start-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      NINEFOLD_HOME: home,
      PORT: String(port),
      NINEFOLD_PG_PORT: String(await freePort()),
      NINEFOLD_REDIS_PORT: String(await freePort()),
      DNS_PORT: '0',
      WORKER_METRICS_PORT: '0',
      npm_config_update_notifier: 'false',
    };
  });

  afterAll(() => {
    // Whatever a failed test left running in this home.
    const owner = path.join(home, 'owner.json');
    if (fs.existsSync(owner)) for (const s of JSON.parse(fs.readFileSync(owner, 'utf8')).servers ?? []) spawnSync('kill', ['-9', String(s.pid)]);
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** `npm start` in a process group of its own, as a terminal runs it; resolves once it says it is up. */
  async function start(): Promise<{ npm: ChildProcess; output: () => string; exited: Promise<number | null> }> {
    const npm = spawn('npm', ['start'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    npm.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    await until(
      async () => output,
      (o) => o.includes('Ctrl-C stops it.') || npm.exitCode !== null,
      120_000,
    );
    expect(output).toContain('Ctrl-C stops it.');
    return { npm, output: () => output, exited };
  }

  /** The servers this home's npm start recorded, still running. */
  function running(pids: number[]): number[] {
    return pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
  }

  function recordedPids(): number[] {
    const owner = JSON.parse(fs.readFileSync(path.join(home, 'owner.json'), 'utf8')) as { pid: number; servers: { pid: number }[] };
    return [owner.pid, ...owner.servers.map((s) => s.pid)];
  }

  it('says where it listens and shows the admin key by the "is up" line; Ctrl-C stops everything in order, without stack traces', async () => {
    const { npm, output, exited } = await start();
    const key = /admin API key, shown on this first start only \(store it\): (nf_\S+)/.exec(output())?.[1];
    expect(key).toBeDefined();
    expect((await new HttpClient(url, key).get('/api/v1/auth/whoami')).body).toMatchObject({ role: 'admin' });
    expect(output()).toContain(`HTTP on port ${env.PORT} of every interface (HOST=0.0.0.0)`);
    // Nest's route mapping is at debug level: the start says what a user needs.
    expect(output()).not.toMatch(/Mapped \{/);
    const pids = recordedPids();
    expect(pids).toHaveLength(5); // npm start's node, PostgreSQL, Redis, the api, the worker

    const before = output().length;
    process.kill(-npm.pid!, 'SIGINT'); // what a terminal's Ctrl-C does: the whole foreground group
    expect(await exited).toBe(0);
    const stopping = output().slice(before);
    expect(stopping).toContain('stopped.');
    expect(stopping).not.toMatch(/^\s+at /m);
    expect(stopping).not.toMatch(/ECONNREFUSED/);
    expect(running(pids)).toEqual([]);
  });

  it('stops everything on kill -TERM of the npm process, and makes a new admin key while it runs', async () => {
    const { npm, output, exited } = await start();
    expect(output()).toContain('lost it? `npm run admin-key` makes a new one');
    const made = spawnSync('npm', ['run', '-s', 'admin-key', '--', '--name', 'second-admin'], { cwd: root, env, encoding: 'utf8' });
    expect(made.status).toBe(0);
    const key = /^\s+(nf_\S+)$/m.exec(made.stdout)?.[1];
    expect(key).toBeDefined();
    expect((await new HttpClient(url, key).get('/api/v1/auth/whoami')).body).toMatchObject({ name: 'second-admin', role: 'admin' });

    const pids = recordedPids();
    npm.kill('SIGTERM'); // kill -TERM <pid of npm start>
    expect(await exited).toBe(0);
    await until(async () => running(pids), (r) => r.length === 0, 20_000);
  });
});
