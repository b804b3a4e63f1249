import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisService } from '#core';
import { type RealtimeMessage, RealtimePublisher } from '#realtime';

type Listener = (message: RealtimeMessage) => void;

/**
 * The realtime events of every api and worker, as this api replica receives
 * them from Redis: one subscriber connection per replica, handed to each
 * gateway that forwards events to its sockets (RedisService closes it on
 * shutdown).
 */
@Injectable()
export class RealtimeFeed implements OnModuleInit {
  private readonly listeners: Listener[] = [];

  constructor(
    private readonly redis: RedisService,
    private readonly publisher: RealtimePublisher,
  ) {}

  /** Calls `listener` with every event from now on. */
  listen(listener: Listener): void {
    this.listeners.push(listener);
  }

  onModuleInit(): void {
    const subscriber: Redis = this.redis.connect('realtime-subscriber');
    // ioredis subscribes again by itself after a reconnection.
    void subscriber.subscribe(this.publisher.channel).catch(() => undefined);
    subscriber.on('message', (_channel: string, raw: string) => {
      let parsed: RealtimeMessage | RealtimeMessage[];
      try {
        parsed = JSON.parse(raw) as RealtimeMessage | RealtimeMessage[];
      } catch {
        return;
      }
      // One message, or many packed together (RealtimePublisher.publishAll).
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) for (const listener of this.listeners) listener(message);
    });
  }
}
