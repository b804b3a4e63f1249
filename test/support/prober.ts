import { runCheck } from '../../libs/registry/src/checks/check-runner.js';
import { HttpClient } from './http.js';

export interface TestProber {
  stop(): Promise<void>;
  /** Tasks this prober answered. */
  readonly answered: { target: string; reachable: boolean }[];
}

/**
 * A prober agent as the contract describes one: long-polls for tasks,
 * probes each target for real (the control plane's own check runner: TCP
 * connect, or HTTP expecting a 2xx/3xx) and reports. `broken: true` is a
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
        const reachable = opts.broken ? false : (await runCheck({ type: task.type, target: task.target, timeoutMs: task.timeoutMs })).ok;
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
