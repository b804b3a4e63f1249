import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/**
 * Takes the lease when it is free, or renews it when we hold it. The lease
 * value is "<owner>|<fencing token>"; the token comes from a counter that only
 * grows, so every new term has a larger token than all before it.
 * Returns the token of our term, or 0 when another owner holds the lease.
 */
const ACQUIRE_OR_RENEW = `
local cur = redis.call('GET', KEYS[1])
if not cur then
  local token = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
  return token
end
local sep = string.find(cur, '|', 1, true)
if sep and string.sub(cur, 1, sep - 1) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(cur, sep + 1))
end
return 0
`;

/** Gives the lease up, only if it is still ours. */
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if cur and cur == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface LeaderElectionOptions {
  /** Redis key of the lease; the fencing counter lives at `<key>:fence`. */
  key: string;
  /** Unique per process, e.g. `<hostname>:<pid>:<random>`. */
  owner: string;
  /** Lease time: a dead leader is replaced at most this long (plus one renew interval) after its last renewal. */
  leaseMs: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface LeaderElectionEvents {
  elected: [fencingToken: number];
  revoked: [reason: string];
}

/**
 * Leader election by a lease in Redis, with a fencing token.
 *
 * Every process runs one; the one holding the lease is the leader and renews it
 * every leaseMs / 3. When it dies, the lease expires and another takes it with
 * a larger fencing token. A leader that cannot renew (Redis unreachable, event
 * loop stalled) steps down on its own once its lease may have expired, before
 * anyone else can be elected, so two leaders never act in the same term.
 * Singletons should pass {@link fencingToken} along with their writes so a
 * stale leader's late writes can be refused.
 */
export class LeaderElection extends EventEmitter<LeaderElectionEvents> {
  private token = 0;
  /** Until when our lease is surely still ours (local clock, measured from before the renew call). */
  private validUntil = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly options: LeaderElectionOptions,
  ) {
    super();
    this.now = options.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.token > 0 && this.now() < this.validUntil;
  }

  /** The current term's fencing token, or 0 when not the leader. */
  get fencingToken(): number {
    return this.isLeader ? this.token : 0;
  }

  get owner(): string {
    return this.options.owner;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops campaigning and hands the lease over at once when we hold it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const token = this.token;
    if (token > 0) {
      this.stepDown('stopped');
      await this.redis
        .eval(RELEASE, 1, this.options.key, `${this.options.owner}|${token}`)
        .catch(() => undefined);
    }
  }

  /** One round: acquire or renew, then schedule the next. Public for tests. */
  async tick(): Promise<void> {
    const started = this.now();
    try {
      const result = await this.redis.eval(ACQUIRE_OR_RENEW, 2, this.options.key, `${this.options.key}:fence`, this.options.owner, String(this.options.leaseMs));
      const token = Number(result);
      if (this.stopped) return;
      if (token > 0) {
        this.validUntil = started + this.options.leaseMs;
        if (token !== this.token) {
          if (this.token > 0) this.emit('revoked', 'lease was lost and taken again');
          this.token = token;
          this.emit('elected', token);
        }
      } else if (this.token > 0) {
        this.stepDown('another process holds the lease');
      }
    } catch (err) {
      if (this.token > 0 && this.now() >= this.validUntil - this.options.leaseMs / 3) {
        this.stepDown(`cannot renew the lease: ${(err as Error).message}`);
      }
    } finally {
      if (!this.stopped) this.schedule();
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    let delay = Math.max(50, Math.floor(this.options.leaseMs / 3));
    if (this.token > 0) {
      // Also wake up in time to step down if renewals keep failing.
      delay = Math.min(delay, Math.max(10, this.validUntil - this.now() - Math.floor(this.options.leaseMs / 6)));
    }
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref?.();
  }

  private stepDown(reason: string): void {
    if (this.token === 0) return;
    this.token = 0;
    this.validUntil = 0;
    this.emit('revoked', reason);
  }
}
