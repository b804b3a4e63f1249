import { type CheckOutcome, runCheck } from '../../../libs/registry/src/checks/check-runner.js';
import type { LocalCheck, ServiceConfig } from './config.js';
import type { Logger } from './logger.js';

export interface ServiceHealth {
  status: 'up' | 'degraded' | 'down';
  /** The failing checks, for the log and `status`. */
  failing: { target: string; error: string }[];
}

/**
 * The HTTP and TCP checks of the services on this host, run on each
 * service's interval with the control plane's own check runner. A
 * heartbeat carries the worst result: `down` when a check with
 * `onFail: down` (the default) fails, `degraded` for `onFail: degraded`.
 */
export class LocalChecks {
  private readonly last = new Map<LocalCheck, CheckOutcome>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly services: ServiceConfig[],
    private readonly log: Logger,
    private readonly run: (check: LocalCheck) => Promise<CheckOutcome> = (c) => runCheck({ type: c.type, target: c.target, timeoutMs: c.timeoutMs, expectStatus: c.expectStatus ?? null }),
  ) {}

  /** Runs every check once (so the first heartbeat already carries a result), then on each service's interval. */
  async start(): Promise<void> {
    await Promise.all(this.services.flatMap((s) => s.checks.map((c) => this.runOne(s, c))));
    for (const s of this.services) {
      for (const c of s.checks) {
        const t = setInterval(() => void this.runOne(s, c), s.intervalSeconds * 1000);
        t.unref();
        this.timers.push(t);
      }
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  health(service: ServiceConfig): ServiceHealth {
    let status: ServiceHealth['status'] = 'up';
    const failing: ServiceHealth['failing'] = [];
    for (const c of service.checks) {
      const r = this.last.get(c);
      if (!r || r.ok) continue;
      failing.push({ target: c.target, error: r.error ?? 'failed' });
      if (c.onFail === 'down') status = 'down';
      else if (status === 'up') status = 'degraded';
    }
    return { status, failing };
  }

  private async runOne(service: ServiceConfig, check: LocalCheck): Promise<void> {
    const outcome = await this.run(check).catch((err: unknown): CheckOutcome => ({ ok: false, latencyMs: 0, error: (err as Error).message }));
    const before = this.last.get(check);
    this.last.set(check, outcome);
    if (before === undefined ? !outcome.ok : before.ok !== outcome.ok) {
      const fields = { service: service.name, target: check.target, ...(outcome.error ? { error: outcome.error } : {}) };
      if (outcome.ok) this.log.info('local check passes again', fields);
      else this.log.warn('local check fails', fields);
    }
  }
}
