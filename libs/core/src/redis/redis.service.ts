import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { InjectConfig } from '../config/config.module.js';
import type { NinefoldConfig } from '../config/env.schema.js';

/**
 * Redis connections of a process. `client` is for commands (auto-pipelined);
 * subscribers and blocking readers take their own with {@link connect}.
 * Every key and channel name goes through {@link key} so installations can
 * share one Redis.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  private readonly connections: Redis[] = [];
  readonly client: Redis;

  constructor(@InjectConfig() private readonly config: NinefoldConfig) {
    this.client = this.connect('commands');
  }

  /** `<prefix>:<parts…>` */
  key(...parts: (string | number)[]): string {
    return [this.config.NINEFOLD_REDIS_PREFIX, ...parts].join(':');
  }

  /**
   * A new connection. It reconnects by itself after an outage (capped backoff);
   * while disconnected, commands fail fast instead of queueing, and a command
   * unanswered for REDIS_COMMAND_TIMEOUT_MS (a stalled Redis) fails too, so
   * callers can answer 503. Blocking readers pass `commandTimeout: undefined`.
   */
  connect(name: string, extra: RedisOptions = {}): Redis {
    const conn = new Redis(this.config.REDIS_URL, {
      connectionName: `ninefold:${name}`,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 3000,
      commandTimeout: this.config.REDIS_COMMAND_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      ...extra,
    });
    let down = false;
    conn.on('error', (err: Error) => {
      if (!down) this.logger.warn({ connection: name, err: err.message }, 'Redis connection error');
      down = true;
    });
    conn.on('ready', () => {
      if (down) this.logger.log({ connection: name }, 'Redis connection restored');
      down = false;
    });
    this.connections.push(conn);
    return conn;
  }

  /**
   * Closed in the last phase of shutdown, after every consumer stopped in
   * its own shutdown hook (global modules come last): a drain still writing
   * when its connection closes would leave its chunk pending for a retry.
   */
  async onApplicationShutdown(): Promise<void> {
    // QUIT lets pending replies arrive; a connection that is not up would queue it forever.
    await Promise.all(
      this.connections.map(async (c) => {
        if (c.status !== 'ready') return c.disconnect();
        await Promise.race([c.quit(), new Promise((r) => setTimeout(r, 2000).unref())]).catch(() => undefined);
        c.disconnect();
      }),
    );
  }
}
