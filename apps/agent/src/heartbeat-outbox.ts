import { randomUUID } from 'node:crypto';
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.js';
import type { Outcome } from './control-plane.client.js';
import type { Logger } from './logger.js';
import { MAX_BATCH, type WireHeartbeat } from './wire.js';

/** How the outbox reaches the control plane (the real one posts to /api/v1/heartbeats). */
export type SendBatch = (heartbeats: WireHeartbeat[], idempotencyKey: string) => Promise<Outcome>;

/** An operator has to fix a wrong or revoked key; meanwhile the agent asks again this rarely. */
export const UNAUTHORIZED_RETRY_MS = 60_000;
/** While the control plane cannot be reached, how often (on average) the agent asks whether it is back. */
export const PROBE_EVERY_MS = 1000;
/** Once it is back, the buffered heartbeats go out at a random moment within this. */
export const RETURN_JITTER_MS = 1000;

export interface OutboxStatus {
  queued: number;
  inFlight: number;
  /** Heartbeats dropped because the queue was full (oldest first), since the agent started. */
  dropped: number;
  /** Heartbeats the control plane refused as invalid (400), since the agent started. */
  rejected: number;
  sent: number;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
  nextAttemptInMs: number;
}

/**
 * The agent's heartbeats on their way to the control plane. A bounded queue
 * (oldest dropped first, counted) and one batch in flight at a time, so they
 * arrive in the order they were made. A batch keeps its Idempotency-Key
 * across retries, so a batch that did arrive although its answer was lost is
 * not stored twice. Retries back off exponentially with full jitter; 429 and
 * 503 are retried after their Retry-After; 401/403 are logged once and
 * retried every minute; a batch the control plane rejects as invalid is
 * logged and dropped, since sending it again cannot succeed.
 */
export class HeartbeatOutbox {
  private readonly queue: WireHeartbeat[] = [];
  private inFlight: { heartbeats: WireHeartbeat[]; key: string } | null = null;
  private sending: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextAttemptAt = 0;
  private batchLimit = MAX_BATCH;
  private unauthorized = false;
  private closed = false;
  private readonly stats = { dropped: 0, rejected: 0, sent: 0, lastSuccessAt: null as number | null, lastError: null as string | null, lastErrorAt: null as number | null, consecutiveFailures: 0 };
  private readonly listeners: ((ok: boolean) => void)[] = [];
  /** The last failure was not reaching the control plane at all (no answer): probing for its return makes sense. */
  private unreachable = false;

  constructor(
    private readonly send: SendBatch,
    private readonly opts: {
      maxEntries: number;
      log: Logger;
      now?: () => number;
      random?: () => number;
      backoff?: BackoffPolicy;
      /**
       * A cheap question "is the control plane there again?" (its /healthz). While the control plane cannot be
       * reached at all and a retry is further away than a probe, it is asked every {@link PROBE_EVERY_MS} (with
       * jitter), so the buffer goes out within seconds of its return instead of at the end of a long backoff.
       */
      probe?: () => Promise<boolean>;
    },
  ) {}

  /** Queues heartbeats and sends as soon as the control plane may be asked. */
  push(heartbeats: WireHeartbeat[]): void {
    this.queue.push(...heartbeats);
    const over = this.queue.length + (this.inFlight?.heartbeats.length ?? 0) - this.opts.maxEntries;
    if (over > 0) {
      const dropped = this.queue.splice(0, Math.min(over, this.queue.length)).length;
      if (this.stats.dropped === 0 || Math.floor((this.stats.dropped + dropped) / 1000) > Math.floor(this.stats.dropped / 1000)) {
        this.opts.log.warn('heartbeat buffer full: dropping the oldest', { dropped: this.stats.dropped + dropped, maxEntries: this.opts.maxEntries });
      }
      this.stats.dropped += dropped;
    }
    this.kick();
  }

  /** Called with true after each successful send and false after each failed one (the gossip layer tells peers). */
  onResult(listener: (ok: boolean) => void): void {
    this.listeners.push(listener);
  }

  get size(): number {
    return this.queue.length + (this.inFlight?.heartbeats.length ?? 0);
  }

  status(): OutboxStatus {
    const now = this.now();
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      queued: this.queue.length,
      inFlight: this.inFlight?.heartbeats.length ?? 0,
      dropped: this.stats.dropped,
      rejected: this.stats.rejected,
      sent: this.stats.sent,
      lastSuccessAt: iso(this.stats.lastSuccessAt),
      lastError: this.stats.lastError,
      lastErrorAt: iso(this.stats.lastErrorAt),
      consecutiveFailures: this.stats.consecutiveFailures,
      nextAttemptInMs: Math.max(0, this.nextAttemptAt - now),
    };
  }

  /**
   * Sends what is queued until it is empty or `deadlineMs` (epoch ms) comes,
   * ignoring backoff (used on shutdown). Resolves with what is left.
   */
  async flush(deadlineMs: number): Promise<number> {
    this.clearTimer();
    while (this.size > 0 && this.now() < deadlineMs) {
      if (this.sending) await this.sending;
      else {
        const before = this.stats.consecutiveFailures;
        await this.sendOne();
        // Failing again: pause a little rather than hammering a control plane that is down.
        if (this.stats.consecutiveFailures > before) await sleep(Math.min(500, Math.max(0, deadlineMs - this.now())));
      }
    }
    return this.size;
  }

  close(): void {
    this.closed = true;
    this.clearTimer();
  }

  private kick(): void {
    if (this.closed || this.sending || this.size === 0) return;
    const wait = this.nextAttemptAt - this.now();
    if (wait > 0) {
      if (this.timer) return;
      // Probe before the retry when that is sooner: 0.5 to 1.5 × PROBE_EVERY_MS, so agents do not probe in step.
      const probeIn = this.unreachable && this.opts.probe ? Math.floor(PROBE_EVERY_MS * (0.5 + this.random())) : Infinity;
      this.timer = setTimeout(() => {
        this.timer = null;
        if (probeIn < wait) void this.probeThenKick();
        else this.kick();
      }, Math.min(wait, probeIn));
      return;
    }
    void this.sendOne().then(() => this.kick());
  }

  /**
   * Asks whether the control plane is back; if so the next attempt comes at a
   * random moment within {@link RETURN_JITTER_MS}, so the agents that lost it
   * together do not all arrive in the same instant.
   */
  private async probeThenKick(): Promise<void> {
    const back = await this.opts.probe!().catch(() => false);
    if (back && !this.closed) {
      this.unreachable = false;
      const at = this.now() + Math.floor(this.random() * RETURN_JITTER_MS);
      if (at < this.nextAttemptAt) this.nextAttemptAt = at;
    }
    this.kick();
  }

  private sendOne(): Promise<void> {
    if (!this.inFlight) {
      if (this.queue.length === 0) return Promise.resolve();
      this.inFlight = { heartbeats: this.queue.splice(0, this.batchLimit), key: randomUUID() };
    }
    const batch = this.inFlight;
    let attempt: Promise<Outcome>;
    try {
      attempt = this.send(batch.heartbeats, batch.key);
    } catch (err) {
      // A send that throws before returning its promise is a failure like any other, not a crash of push().
      attempt = Promise.reject(err);
    }
    this.sending = attempt
      .catch((err: unknown): Outcome => ({ kind: 'failed', message: (err as Error).message }))
      .then((outcome) => this.settle(batch, outcome))
      .finally(() => {
        this.sending = null;
      });
    return this.sending;
  }

  private settle(batch: { heartbeats: WireHeartbeat[]; key: string }, outcome: Outcome): void {
    const now = this.now();
    // No answer at all (refused, reset, timed out): the control plane is away, not refusing.
    this.unreachable = outcome.kind === 'failed' && outcome.status === undefined;
    switch (outcome.kind) {
      case 'ok':
        this.inFlight = null;
        this.stats.sent += batch.heartbeats.length;
        this.stats.lastSuccessAt = now;
        if (this.stats.consecutiveFailures > 0 || this.unauthorized) {
          this.opts.log.info('control plane reachable again', { after: this.stats.consecutiveFailures, queued: this.size });
        }
        this.stats.consecutiveFailures = 0;
        this.unauthorized = false;
        this.nextAttemptAt = 0;
        this.emit(true);
        return;
      case 'rejected':
        if (outcome.status === 413 && batch.heartbeats.length > 1) {
          // Too large for the control plane's body limit: send it in halves.
          this.batchLimit = Math.max(1, Math.floor(batch.heartbeats.length / 2));
          this.queue.unshift(...batch.heartbeats);
          this.inFlight = null;
          this.opts.log.warn('heartbeat batch too large for the control plane; sending smaller batches', { batchLimit: this.batchLimit });
          return;
        }
        this.inFlight = null;
        this.stats.rejected += batch.heartbeats.length;
        this.failed(now, `rejected (${outcome.status}): ${outcome.message}`, 0);
        this.opts.log.error('the control plane rejected a heartbeat batch; it is dropped (check the configuration with ninefold-agent check-config)', { status: outcome.status, reason: outcome.message, heartbeats: batch.heartbeats.length });
        return;
      case 'unauthorized':
        if (!this.unauthorized) {
          this.opts.log.error(`the control plane refuses this agent's API key (${outcome.status}); check NINEFOLD_KEY / key. Retrying every ${UNAUTHORIZED_RETRY_MS / 1000} s`, { status: outcome.status, reason: outcome.message });
        }
        this.unauthorized = true;
        this.failed(now, `${outcome.status}: ${outcome.message}`, UNAUTHORIZED_RETRY_MS);
        return;
      case 'throttled': {
        // Retry-After: 0 (or a date already past) must not make a tight loop of 429s: back off then.
        const delay = outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0 ? outcome.retryAfterMs : this.backoff();
        this.failed(now, `${outcome.status}: ${outcome.message}`, delay);
        this.logFailure(outcome.message, delay);
        return;
      }
      case 'failed': {
        const delay = this.backoff();
        this.failed(now, outcome.message, delay);
        this.logFailure(outcome.message, delay);
        return;
      }
    }
  }

  private failed(now: number, message: string, retryInMs: number): void {
    this.stats.lastError = message;
    this.stats.lastErrorAt = now;
    if (retryInMs > 0) this.stats.consecutiveFailures++;
    this.nextAttemptAt = now + retryInMs;
    this.emit(false);
  }

  private logFailure(message: string, delay: number): void {
    const n = this.stats.consecutiveFailures;
    // The first failures, then every 10th: an outage of hours must not flood the log.
    if (n <= 3 || n % 10 === 0) this.opts.log.warn('could not send heartbeats; keeping them and retrying', { reason: message, attempt: n, retryInMs: delay, queued: this.size });
  }

  private backoff(): number {
    return backoffDelay(this.stats.consecutiveFailures + 1, this.random, this.opts.backoff ?? DEFAULT_BACKOFF);
  }

  private readonly random = (): number => (this.opts.random ?? Math.random)();

  private emit(ok: boolean): void {
    for (const l of this.listeners) l(ok);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
