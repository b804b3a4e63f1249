import { runCheck } from '../../../libs/registry/src/checks/check-runner.js';
import { backoffDelay } from './backoff.js';
import type { ControlPlaneClient } from './control-plane.client.js';
import type { Logger } from './logger.js';
import { UNAUTHORIZED_RETRY_MS } from './heartbeat-outbox.js';

interface ProbeTask {
  id: string;
  type: 'tcp' | 'http';
  target: string;
  timeoutMs: number;
}

export interface ProberStatus {
  enabled: true;
  answered: number;
  lastPollAt: string | null;
  lastError: string | null;
}

/**
 * Prober mode: long-polls the control plane for probe tasks
 * (`GET /api/v1/probe-tasks?wait=`), probes each target from this host (TCP
 * connect or HTTP, the control plane's own check runner) and reports
 * (`POST /api/v1/probe-tasks/:id/result`), so a silent instance is confirmed
 * DOWN only when most vantage points cannot reach it.
 */
export class Prober {
  private running = false;
  private loop?: Promise<void>;
  private abort?: () => void;
  private readonly polls = new AbortController();
  private failures = 0;
  private readonly stats = { answered: 0, lastPollAt: null as number | null, lastError: null as string | null };

  constructor(
    private readonly client: ControlPlaneClient,
    private readonly identity: { name: string; zone?: string; region?: string },
    private readonly opts: { waitSeconds: number; concurrency: number; requestTimeoutMs: number; log: Logger },
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.();
    this.polls.abort();
    await this.loop;
  }

  status(): ProberStatus {
    return { enabled: true, answered: this.stats.answered, lastPollAt: this.stats.lastPollAt === null ? null : new Date(this.stats.lastPollAt).toISOString(), lastError: this.stats.lastError };
  }

  private async run(): Promise<void> {
    const q = new URLSearchParams({ wait: String(this.opts.waitSeconds), name: this.identity.name });
    if (this.identity.zone) q.set('zone', this.identity.zone);
    if (this.identity.region) q.set('region', this.identity.region);
    while (this.running) {
      // The long poll may legitimately take `wait` seconds.
      const outcome = await this.client.get(`/api/v1/probe-tasks?${q}`, { timeoutMs: this.opts.waitSeconds * 1000 + this.opts.requestTimeoutMs, signal: this.polls.signal });
      if (!this.running) return;
      this.stats.lastPollAt = Date.now();
      if (outcome.kind === 'ok') {
        this.failures = 0;
        this.stats.lastError = null;
        const items = tasksOf(outcome.body);
        await this.answer(items);
        continue;
      }
      this.failures++;
      this.stats.lastError = `${'status' in outcome && outcome.status ? `${outcome.status}: ` : ''}${outcome.message}`;
      const delay = outcome.kind === 'unauthorized' ? UNAUTHORIZED_RETRY_MS : outcome.kind === 'throttled' && outcome.retryAfterMs !== undefined ? outcome.retryAfterMs : backoffDelay(this.failures, Math.random);
      if (this.failures <= 3 || this.failures % 10 === 0) this.opts.log.warn('prober: could not poll for probe tasks; retrying', { reason: this.stats.lastError, retryInMs: delay });
      await this.sleep(delay);
    }
  }

  private async answer(tasks: ProbeTask[]): Promise<void> {
    for (let i = 0; i < tasks.length; i += this.opts.concurrency) {
      await Promise.all(
        tasks.slice(i, i + this.opts.concurrency).map(async (task) => {
          const outcome = await runCheck({ type: task.type, target: task.target, timeoutMs: task.timeoutMs });
          const result = { reachable: outcome.ok, latencyMs: Math.round(outcome.latencyMs), ...(outcome.ok ? {} : { error: (outcome.error ?? 'unreachable').slice(0, 500) }) };
          const sent = await this.client.post(`/api/v1/probe-tasks/${encodeURIComponent(task.id)}/result`, result);
          if (sent.kind === 'ok') this.stats.answered++;
          else this.opts.log.warn('prober: could not report a probe result', { task: task.id, target: task.target, reason: sent.message });
        }),
      );
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abort = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/** The tasks of a poll answer, ignoring anything that is not one (never trust a body). */
function tasksOf(body: unknown): ProbeTask[] {
  const items = typeof body === 'object' && body !== null ? (body as { items?: unknown }).items : undefined;
  if (!Array.isArray(items)) return [];
  return items.filter(
    (t): t is ProbeTask =>
      typeof t === 'object' && t !== null && typeof (t as ProbeTask).id === 'string' && ((t as ProbeTask).type === 'tcp' || (t as ProbeTask).type === 'http') && typeof (t as ProbeTask).target === 'string' && typeof (t as ProbeTask).timeoutMs === 'number',
  );
}
