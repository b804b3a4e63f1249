import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { RedisService } from '#core';

/** How often each api replica says it is receiving heartbeats. */
export const INGRESS_PRESENCE_EVERY_MS = 500;

/** The Redis key holding the last time any api replica was receiving heartbeats (ms since the epoch). */
export function ingressPresenceKey(redis: RedisService): string {
  return redis.key('det', 'ingress');
}

/**
 * Each api replica writes, every {@link INGRESS_PRESENCE_EVERY_MS}, that it is
 * receiving heartbeats. The failure-detection sweep (in the workers) reads it:
 * while no api has written for longer than DETECTOR_GAP_TOLERANCE_MS, nobody
 * could receive a heartbeat, so silence is not judged (see DetectorSweep).
 */
@Injectable()
export class IngressPresence implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IngressPresence.name);
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(private readonly redis: RedisService) {}

  onApplicationBootstrap(): void {
    const key = ingressPresenceKey(this.redis);
    const beat = () =>
      this.redis.client.set(key, String(Date.now())).then(
        () => (this.failing = false),
        (err: Error) => {
          if (!this.failing) this.logger.warn({ err: err.message }, 'could not record that this api receives heartbeats; retrying');
          this.failing = true;
        },
      );
    void beat();
    this.timer = setInterval(() => void beat(), INGRESS_PRESENCE_EVERY_MS);
    this.timer.unref();
  }

  /** On shutdown the api stops receiving heartbeats first: it stops saying it does. */
  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
