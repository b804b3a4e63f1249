import { Injectable } from '@nestjs/common';
import { RedisService } from '#core';
import type { HeartbeatStatus } from '../heartbeat.js';
import { HeartbeatStream } from '../heartbeat-stream.js';
import type { CheckOutcome } from './check-runner.js';

/** What the registry needs of a check to turn its result into a heartbeat. */
export interface CheckIdentity {
  id: string;
  service: string;
  instance: string;
  intervalSeconds: number;
  retries: number;
  address: string | null;
  port: number | null;
}

export interface CheckStatus extends CheckOutcome {
  at: string;
  consecutiveFailures: number;
  reported: HeartbeatStatus;
  ranBy: string;
}

/**
 * Turns check results (from a worker or a prober) into heartbeats of the
 * check's instance, and keeps each check's last result in Redis for the API.
 * A failure is reported as `degraded` until `retries` failures in a row, then
 * as `down`, so one lost packet does not take an instance DOWN.
 */
@Injectable()
export class CheckResults {
  constructor(
    private readonly redis: RedisService,
    private readonly stream: HeartbeatStream,
  ) {}

  key(checkId: string): string {
    return this.redis.key('check', checkId);
  }

  async record(check: CheckIdentity, outcome: CheckOutcome, ranBy: string): Promise<CheckStatus> {
    const failures = outcome.ok ? 0 : await this.redis.client.hincrby(this.key(check.id), 'failures', 1);
    const reported: HeartbeatStatus = outcome.ok ? 'up' : failures > check.retries ? 'down' : 'degraded';
    const status: CheckStatus = { ...outcome, at: new Date().toISOString(), consecutiveFailures: failures, reported, ranBy };
    await this.redis.client.multi().hset(this.key(check.id), 'last', JSON.stringify(status), 'failures', failures).expire(this.key(check.id), Math.max(3600, check.intervalSeconds * 10)).exec();
    await this.stream.append([
      {
        service: check.service,
        instance: check.instance,
        status: reported,
        intervalSeconds: check.intervalSeconds,
        ...(check.address ? { address: check.address } : {}),
        ...(check.port ? { port: check.port } : {}),
      },
    ]);
    return status;
  }

  async last(checkId: string): Promise<CheckStatus | null> {
    const raw = await this.redis.client.hget(this.key(checkId), 'last');
    return raw ? (JSON.parse(raw) as CheckStatus) : null;
  }

  async forget(checkId: string): Promise<void> {
    await this.redis.client.del(this.key(checkId));
  }
}
