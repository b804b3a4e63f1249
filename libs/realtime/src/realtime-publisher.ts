import { Injectable } from '@nestjs/common';
import { RedisService } from '#core';
import type { RealtimeEvent, RealtimeMessage } from './realtime-events.js';

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

  /** Many at once, pipelined. */
  async publishAll(messages: RealtimeMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const p = this.redis.client.pipeline();
    for (const m of messages) p.publish(this.channel, JSON.stringify(m));
    await p.exec();
  }
}
