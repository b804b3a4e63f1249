import { type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { type OnGatewayConnection, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Redis } from 'ioredis';
import type { Server, Socket } from 'socket.io';
import { ApiKeysService, DomainError, ErrorCode, RedisService } from '#core';
import { type RealtimeMessage, RealtimePublisher } from '#realtime';

/**
 * socket.io at `/ws`. A client authenticates with `auth: { token: <api key> }`
 * (or an Authorization header) and needs the viewer role. Every replica
 * subscribes to the realtime channel on Redis and forwards each event to its
 * own sockets, so events from any api or worker reach every client whatever
 * replica it is connected to.
 */
// serveClient: false: the client bundle is not served (and no request pays for the check).
@WebSocketGateway({ path: '/ws', serveClient: false, cors: { origin: true, credentials: true } })
export class EventsGateway implements OnGatewayConnection, OnModuleInit, OnApplicationShutdown {
  @WebSocketServer() server!: Server;
  private subscriber!: Redis;

  constructor(
    private readonly keys: ApiKeysService,
    private readonly redis: RedisService,
    private readonly publisher: RealtimePublisher,
  ) {}

  onModuleInit(): void {
    this.subscriber = this.redis.connect('realtime-subscriber');
    void this.subscriber.subscribe(this.publisher.channel).catch(() => undefined);
    this.subscriber.on('message', (_channel: string, raw: string) => {
      let message: RealtimeMessage;
      try {
        message = JSON.parse(raw) as RealtimeMessage;
      } catch {
        return;
      }
      this.server?.emit(message.event, message.payload);
    });
  }

  async handleConnection(client: Socket): Promise<void> {
    const auth = client.handshake.auth as { token?: unknown } | undefined;
    const authorization = typeof auth?.token === 'string' ? `Bearer ${auth.token}` : client.handshake.headers.authorization;
    try {
      client.data.principal = await this.keys.authenticate(authorization, 'viewer');
    } catch (err) {
      const forbidden = err instanceof DomainError && err.code === ErrorCode.Forbidden;
      client.emit('error', { statusCode: forbidden ? 403 : 401, message: forbidden ? 'the viewer role is needed for live events' : 'unknown or missing API key (auth.token)' });
      client.disconnect(true);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.server?.disconnectSockets(true);
  }
}
