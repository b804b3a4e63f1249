import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectConfig, type NinefoldConfig, RedisService } from '#core';

/** How often each api replica says it is receiving heartbeats. */
export const INGRESS_PRESENCE_EVERY_MS = 500;

/** The Redis key of the ingress presence: `<since>:<last>` (ms since the epoch), see {@link IngressPresence}. */
export function ingressPresenceKey(redis: RedisService): string {
  return redis.key('det', 'ingress');
}

/** What the key says: receiving heartbeats without a break since `sinceMs`, last said at `lastMs`; zeros when never said. */
export function parseIngressPresence(value: string | null): { sinceMs: number; lastMs: number } {
  const m = value ? /^(\d+):(\d+)$/.exec(value) : null;
  return m ? { sinceMs: Number(m[1]), lastMs: Number(m[2]) } : { sinceMs: 0, lastMs: 0 };
}

// One presence for all api replicas: a write more than ARGV[2] ms after the last one (no replica wrote meanwhile)
// starts a new unbroken period.
const PRESENCE_LUA = `
local now = tonumber(ARGV[1])
local since = now
local v = redis.call('GET', KEYS[1])
if v then
  local s, l = string.match(v, '^(%d+):(%d+)$')
  if s and now - tonumber(l) <= tonumber(ARGV[2]) then since = math.min(tonumber(s), now) end
end
redis.call('SET', KEYS[1], since .. ':' .. now)
return since`;

/**
 * Each api replica says, every {@link INGRESS_PRESENCE_EVERY_MS}, that it is
 * receiving heartbeats; the key keeps since when some replica has been doing
 * so without a break. The failure-detection sweep (in the workers) reads it:
 * - while no api has said so for longer than DETECTOR_GAP_TOLERANCE_MS, nobody
 *   could receive a heartbeat, so silence is not judged;
 * - after a gap in the sweep, the deadlines that fell in it are extended only
 *   if the ingress was not there all along (a restart, an api or Redis
 *   outage): a leader change alone delays nothing, since heartbeats went on
 *   arriving and the ingest watermark covers those not yet applied.
 */
@Injectable()
export class IngressPresence implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IngressPresence.name);
  private timer: NodeJS.Timeout | null = null;
  private failing = false;

  constructor(
    private readonly redis: RedisService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  onApplicationBootstrap(): void {
    const key = ingressPresenceKey(this.redis);
    const beat = () =>
      this.redis.client.eval(PRESENCE_LUA, 1, key, Date.now(), this.config.DETECTOR_GAP_TOLERANCE_MS).then(
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
