import { Injectable } from '@nestjs/common';
import { RedisService } from '#core';
import type { RealtimeEvent, RealtimeMessage } from './realtime-events.js';

/** Messages per Redis message when publishing many. */
const PACK = 200;

/** Publishes realtime events on Redis, where every api replica's gateway hears them. */
@Injectable()
export class RealtimePublisher {
  readonly channel: string;

  constructor(private readonly redis: RedisService) {
    this.channel = redis.key('rt');
  }

  async publish(event: RealtimeEvent, payload: Record<string, unknown> & { at: string }): Promise<void> {
    const message: RealtimeMessage = { event, payload };
    await this.redis.client.publish(this.channel, JSON.stringify(message));
  }

  /**
   * Many at once: packed into JSON arrays of up to PACK messages per Redis
   * message (what the feed unpacks), pipelined. The leader's first SLO
   * evaluation may publish tens of thousands.
   */
  async publishAll(messages: RealtimeMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (messages.length === 1) return void (await this.redis.client.publish(this.channel, JSON.stringify(messages[0])));
    const p = this.redis.client.pipeline();
    for (let i = 0; i < messages.length; i += PACK) p.publish(this.channel, JSON.stringify(messages.slice(i, i + PACK)));
    await p.exec();
  }
}
