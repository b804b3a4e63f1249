import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/lib/ports.mjs';

export { freePort };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A running api or worker process (the built `dist/apps/<app>/main.js`). */
export class NinefoldProcess {
  readonly output: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly app: 'api' | 'worker' | 'agent',
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.output.push(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  /** Every output line, joined (for error messages and text assertions). */
  get log(): string {
    return this.output.join('\n');
  }

  /** The JSON log lines that parse. */
  logs(): Record<string, unknown>[] {
    return this.output.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Resolves when a line matches, or rejects after `timeoutMs` / on exit. */
  async waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs = 30_000): Promise<string> {
    const test = typeof match === 'function' ? match : (l: string) => match.test(l);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.output.find(test);
      if (found) return found;
      if (this.hasExited) throw new Error(`${this.app} exited (${JSON.stringify(this.exitInfo)}) before printing ${String(match)}:\n${this.log.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`${this.app} did not print ${String(match)} within ${timeoutMs} ms:\n${this.log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  waitForExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  /** SIGTERM (graceful) and wait; SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  /** kill -9: no shutdown hooks run. */
  async kill(): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export interface StartOptions {
  env: Record<string, string>;
  /** Wait until /readyz answers 200 (api) or the start line is printed (worker). Default true. */
  waitReady?: boolean;
}

function spawnApp(app: 'api' | 'worker', env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--enable-source-maps', path.join(root, 'dist', 'apps', app, 'main.js')], {
    cwd: root,
    // DNS and the worker's metrics off unless a test asks for them: parallel test files would fight over ports 8600 and 9465.
    env: { PATH: process.env.PATH ?? '', TZ: 'UTC', LOG_LEVEL: 'info', LOG_REQUESTS: 'false', DNS_PORT: '0', WORKER_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts the api on a free port; resolves once /readyz is 200. */
export async function startApi({ env, waitReady = true }: StartOptions): Promise<NinefoldProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const proc = new NinefoldProcess('api', spawnApp('api', { ...env, PORT: String(port), HOST: '127.0.0.1' }), `http://127.0.0.1:${port}`);
  if (waitReady) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.hasExited) throw new Error(`api exited while starting:\n${proc.log.slice(-3000)}`);
      try {
        const res = await fetch(`${proc.url}/readyz`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await proc.kill();
        throw new Error(`api not ready within 60 s:\n${proc.log.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return proc;
}

/** Starts a worker; resolves once it has started. */
export async function startWorker({ env, waitReady = true }: StartOptions): Promise<NinefoldProcess> {
  const proc = new NinefoldProcess('worker', spawnApp('worker', env), '');
  if (waitReady) await proc.waitForLine(/Ninefold worker started/, 60_000);
  return proc;
}

function agentEnv(env: Record<string, string>): Record<string, string> {
  // Nothing of the test runner's environment leaks in: the agent reads NINEFOLD_* variables.
  return { PATH: process.env.PATH ?? '', TZ: 'UTC', HOME: process.env.HOME ?? '/tmp', ...env };
}

/** Starts `ninefold-agent run` (the built dist/apps/agent/main.js) with these arguments; resolves once it has started. */
export async function startAgent({ args, env = {}, waitReady = true }: { args: string[]; env?: Record<string, string>; waitReady?: boolean }): Promise<NinefoldProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', path.join(root, 'dist', 'apps', 'agent', 'main.js'), ...args], { cwd: root, env: agentEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new NinefoldProcess('agent', child, '');
  if (waitReady) await proc.waitForLine(/ninefold-agent started/, 30_000);
  return proc;
}

/** Runs a one-shot agent command (check-config, status, recovery-point) to its end. */
export async function runAgent(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(root, 'dist', 'apps', 'agent', 'main.js'), ...args], { cwd: root, env: agentEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}
