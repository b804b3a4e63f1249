/**
 * @ninefold/client: what an application imports to take part in Ninefold.
 *
 *   const nf = new NinefoldClient({ service: 'checkout' });
 *   const card = await nf.call('payments', () => payments.charge(order));
 *
 * `call` times the call, reports its outcome to the local ninefold-agent
 * (batched, in the background: a report never slows or fails the call) and
 * fails fast with {@link BreakerOpenError} while Ninefold says the
 * dependency's circuit breaker is OPEN. `rateLimit` asks a rate-limit policy
 * through the agent. Works in Node 18+ (global fetch); no dependencies.
 */

export interface NinefoldClientOptions {
  /** The service this application is (as the agent reports it). Default: the agent's first service. */
  service?: string;
  /** The local agent. Default: NINEFOLD_AGENT_URL, else http://127.0.0.1:7070. */
  agentUrl?: string;
  /** How often reports are sent and breaker states refreshed (ms). Default 1000. */
  flushIntervalMs?: number;
  /** Reports kept while the agent is unreachable (oldest dropped). Default 10,000. */
  maxPending?: number;
  /** Outcome of a rate-limit check when neither the agent nor Ninefold answers. Default true (fail open). */
  rateLimitFailOpen?: boolean;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
}

/** How long breaker states from the agent are trusted without a refresh. */
export const BREAKER_STATE_TTL_MS = 30_000;

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** Thrown by {@link NinefoldClient.call} without calling the dependency while its breaker is OPEN. */
export class BreakerOpenError extends Error {
  constructor(
    readonly dependency: string,
    readonly since: string | null,
  ) {
    super(`circuit breaker for ${dependency} is OPEN${since ? ` since ${since}` : ''}: failing fast`);
    this.name = 'BreakerOpenError';
  }
}

export interface RateLimitDecision {
  allowed: boolean;
  remaining?: number;
  resetMs?: number;
  retryAfterMs?: number;
  /** True when Ninefold could not be asked and `rateLimitFailOpen` decided. */
  unavailable?: boolean;
}

interface CallReport {
  dependency: string;
  ok: boolean;
  durationMs: number;
  service?: string;
}

export class NinefoldClient {
  private readonly agentUrl: string;
  private readonly fetch: typeof fetch;
  private pending: CallReport[] = [];
  private requests = { total: 0, errors: 0, slow: 0 };
  private readonly breakers = new Map<string, { state: BreakerState; since: string | null }>();
  private breakersAt = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private flushing: Promise<void> | null = null;
  /** Reports dropped because the agent could not take them. */
  dropped = 0;

  constructor(private readonly opts: NinefoldClientOptions = {}) {
    this.agentUrl = (opts.agentUrl ?? globalThis.process?.env?.NINEFOLD_AGENT_URL ?? 'http://127.0.0.1:7070').replace(/\/+$/, '');
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.timer = setInterval(() => void this.tick(), opts.flushIntervalMs ?? 1000);
    // Reporting must never keep an application alive.
    (this.timer as { unref?: () => void }).unref?.();
    void this.refreshBreakers();
  }

  /**
   * Calls a dependency through Ninefold: fails fast while its breaker is
   * OPEN, otherwise runs `fn`, reports the outcome and returns (or rethrows)
   * what `fn` did. `isFailure` decides which errors count against the
   * dependency (default: every error).
   */
  async call<T>(dependency: string, fn: () => Promise<T> | T, isFailure: (err: unknown) => boolean = () => true): Promise<T> {
    if (this.breakerState(dependency) === 'OPEN') throw new BreakerOpenError(dependency, this.breakers.get(dependency)?.since ?? null);
    const started = performance.now();
    try {
      const result = await fn();
      this.report(dependency, true, performance.now() - started);
      return result;
    } catch (err) {
      this.report(dependency, !isFailure(err), performance.now() - started);
      throw err;
    }
  }

  /** What Ninefold last said of a dependency's breaker (CLOSED when it said nothing). */
  breakerState(dependency: string): BreakerState {
    // States not confirmed for a while (the agent is gone) are forgotten: better to call than to fail forever.
    if (Date.now() - this.breakersAt > BREAKER_STATE_TTL_MS) return 'CLOSED';
    return this.breakers.get(dependency)?.state ?? 'CLOSED';
  }

  /** Reports one request this application served (for request-based SLOs). */
  request(ok: boolean, durationMs?: number, slowMs = 1000): void {
    this.requests.total++;
    if (!ok) this.requests.errors++;
    if (durationMs !== undefined && durationMs > slowMs) this.requests.slow++;
  }

  /**
   * Asks a rate-limit policy whether `key` may go on (cost 1 by default).
   * When Ninefold cannot be asked, `rateLimitFailOpen` decides.
   */
  async rateLimit(policy: string, key: string, cost = 1): Promise<RateLimitDecision> {
    try {
      const res = await this.fetch(`${this.agentUrl}/v1/ratelimits/${encodeURIComponent(policy)}/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key, cost, ...(this.opts.service ? { service: this.opts.service } : {}) }),
        signal: AbortSignal.timeout(2000),
      });
      if (res.ok) {
        const body = (await res.json()) as RateLimitDecision;
        if (typeof body.allowed === 'boolean') return body;
      }
    } catch {
      // below
    }
    return { allowed: this.opts.rateLimitFailOpen ?? true, unavailable: true };
  }

  /** Sends what is pending now (also on an interval, in the background). */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.send().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Sends what is pending and stops the background timer. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private report(dependency: string, ok: boolean, durationMs: number): void {
    this.pending.push({ dependency, ok, durationMs: Math.round(durationMs * 100) / 100, ...(this.opts.service ? { service: this.opts.service } : {}) });
    const max = this.opts.maxPending ?? 10_000;
    if (this.pending.length > max) {
      this.dropped += this.pending.length - max;
      this.pending.splice(0, this.pending.length - max);
    }
    if (this.pending.length >= 500) void this.flush();
  }

  private async tick(): Promise<void> {
    await Promise.all([this.flush(), this.refreshBreakers()]);
  }

  private async send(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, 1000);
      if (!(await this.post('/v1/calls', { calls: batch }))) return; // kept for the next try
      this.pending.splice(0, batch.length);
    }
    if (this.requests.total > 0) {
      const counts = this.requests;
      this.requests = { total: 0, errors: 0, slow: 0 };
      if (!(await this.post('/v1/requests', { ...counts, ...(this.opts.service ? { service: this.opts.service } : {}) }))) {
        this.requests.total += counts.total;
        this.requests.errors += counts.errors;
        this.requests.slow += counts.slow;
      }
    }
  }

  private async post(path: string, body: unknown): Promise<boolean> {
    try {
      const res = await this.fetch(`${this.agentUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(2000) });
      await res.body?.cancel().catch(() => undefined);
      if (res.status === 400) {
        // The agent refuses these reports (a wrong service name?): retrying cannot help.
        this.dropped += Array.isArray((body as { calls?: unknown[] }).calls) ? (body as { calls: unknown[] }).calls.length : 1;
        return true;
      }
      return res.ok;
    } catch {
      return false;
    }
  }

  private async refreshBreakers(): Promise<void> {
    try {
      const q = this.opts.service ? `?service=${encodeURIComponent(this.opts.service)}` : '';
      const res = await this.fetch(`${this.agentUrl}/v1/breakers${q}`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) return;
      const body = (await res.json()) as { items?: { dependency?: unknown; state?: unknown; since?: unknown }[] };
      if (!Array.isArray(body.items)) return;
      this.breakers.clear();
      this.breakersAt = Date.now();
      for (const b of body.items) {
        if (typeof b.dependency === 'string' && (b.state === 'CLOSED' || b.state === 'OPEN' || b.state === 'HALF_OPEN')) {
          this.breakers.set(b.dependency, { state: b.state, since: typeof b.since === 'string' ? b.since : null });
        }
      }
    } catch {
      // The agent is away: the last states known hold for BREAKER_STATE_TTL_MS.
    }
  }
}
