import net from 'node:net';
import { HttpClient } from './http.js';

export interface TestProber {
  stop(): Promise<void>;
  /** Tasks this prober answered. */
  readonly answered: { target: string; reachable: boolean }[];
}

/**
 * A prober agent as the contract describes one: long-polls for tasks,
 * connects to each target over TCP for real and reports. `broken: true` is a
 * prober on a broken network path: every connection fails.
 */
export function startTestProber(baseUrl: string, key: string, opts: { name: string; zone?: string; broken?: boolean }): TestProber {
  const http = new HttpClient(baseUrl, key);
  const answered: { target: string; reachable: boolean }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const q = new URLSearchParams({ wait: '1', name: opts.name, ...(opts.zone ? { zone: opts.zone } : {}) });
      const res = await http.get(`/api/v1/probe-tasks?${q}`).catch(() => null);
      if (!res || res.status !== 200) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      for (const task of res.body.items as { id: string; type: 'tcp' | 'http'; target: string; timeoutMs: number }[]) {
        const started = Date.now();
        const reachable = opts.broken ? false : task.type === 'http' ? await httpReachable(task.target, task.timeoutMs) : await tcpReachable(task.target, task.timeoutMs);
        answered.push({ target: task.target, reachable });
        await http.post(`/api/v1/probe-tasks/${task.id}/result`, { reachable, latencyMs: Date.now() - started, ...(reachable ? {} : { error: opts.broken ? 'network unreachable' : 'connection refused' }) });
      }
    }
  })();
  return {
    answered,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function httpReachable(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status < 400;
  } catch {
    return false;
  }
}

function tcpReachable(target: string, timeoutMs: number): Promise<boolean> {
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(target.slice(i + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
