import { type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ConnectedSocket, MessageBody, type OnGatewayConnection, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Server, Socket } from 'socket.io';
import { ApiKeysService, DomainError, ErrorCode, RequireAccess } from '#core';
import { parseRooms, ROOM_ALL, roomsFor } from '#realtime';
import { RegistryService } from '#registry';
import { RealtimeFeed } from './realtime-feed.service.js';

/**
 * socket.io at `/ws`. A client authenticates with `auth: { token: <api key> }`
 * (or an Authorization header) with a key that may read (viewer, operator or
 * admin; an agent key is refused). Each message states its access as a route
 * does (the class's `read` unless a handler says otherwise), and the auth
 * guard checks it against the handshake's key: a viewer's socket can
 * subscribe, and could never act. Every replica
 * subscribes to the realtime channel on Redis and forwards each event to its
 * own sockets, so events from any api or worker reach every client whatever
 * replica it is connected to, each exactly once.
 *
 * A client gets every event until it subscribes (`subscribe` with
 * `{ rooms: [...] }`, see libs/realtime/src/realtime-rooms.ts); from then on
 * only those of its rooms. The acknowledgement carries the current state of
 * what it subscribed to, so a client that reconnects and subscribes again
 * has no gap.
 */
// serveClient: false: the client bundle is not served (and no request pays for the check).
@WebSocketGateway({ path: '/ws', serveClient: false, cors: { origin: true, credentials: true } })
@RequireAccess('read')
export class EventsGateway implements OnGatewayConnection, OnModuleInit, OnApplicationShutdown {
  @WebSocketServer() server!: Server;

  constructor(
    private readonly keys: ApiKeysService,
    private readonly feed: RealtimeFeed,
    private readonly registry: RegistryService,
  ) {}

  onModuleInit(): void {
    // One emit to the union of the rooms: a socket in several of them gets the event once.
    this.feed.listen((message) => this.server?.to(roomsFor(message)).emit(message.event, message.payload));
  }

  async handleConnection(client: Socket): Promise<void> {
    // A subscribe may arrive before the key is checked: it waits for this.
    const ready = this.authenticate(client);
    client.data.ready = ready;
    await ready;
  }

  private async authenticate(client: Socket): Promise<boolean> {
    const auth = client.handshake.auth as { token?: unknown } | undefined;
    const authorization = typeof auth?.token === 'string' ? `Bearer ${auth.token}` : client.handshake.headers.authorization;
    try {
      client.data.principal = await this.keys.authenticate(authorization, 'read');
      await client.join(ROOM_ALL);
      return true;
    } catch (err) {
      const forbidden = err instanceof DomainError && err.code === ErrorCode.Forbidden;
      client.emit('error', { statusCode: forbidden ? 403 : 401, message: forbidden ? 'live events need a viewer, operator or admin key' : 'unknown or missing API key (auth.token)' });
      client.disconnect(true);
      return false;
    }
  }

  /**
   * `socket.emit('subscribe', { rooms: ['service:checkout'] }, (ack) => …)`:
   * follow these rooms instead of everything. The ack is `{ ok: true, rooms,
   * snapshot }` (snapshot: `services` → the first overview page, `service:<name>`
   * → that service as GET /api/v1/services/:name shows it; none with
   * `snapshot: false`, for a client that reads the state over REST) or
   * `{ ok: false, errors }`.
   */
  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() client: Socket, @MessageBody() body: unknown): Promise<unknown> {
    const request = body as { rooms?: unknown; snapshot?: unknown } | null;
    const parsed = parseRooms(request?.rooms);
    if ('errors' in parsed) return { ok: false, errors: parsed.errors };
    if (request?.snapshot !== undefined && typeof request.snapshot !== 'boolean') return { ok: false, errors: ['snapshot must be true or false'] };
    await client.leave(ROOM_ALL);
    await client.join(parsed.rooms);
    const snapshot: Record<string, unknown> = {};
    for (const room of request?.snapshot === false ? [] : parsed.rooms) {
      if (room === 'services') snapshot[room] = await this.registry.overview(500);
      else if (room.startsWith('service:')) snapshot[room] = await this.registry.getService(room.slice('service:'.length)).catch(() => null);
    }
    return { ok: true, rooms: [...client.rooms].filter((r) => r !== client.id), snapshot };
  }

  /** `unsubscribe` with `{ rooms }`: stop following them (with none left, nothing arrives until the next subscribe). */
  @SubscribeMessage('unsubscribe')
  async unsubscribe(@ConnectedSocket() client: Socket, @MessageBody() body: unknown): Promise<unknown> {
    const parsed = parseRooms((body as { rooms?: unknown } | null)?.rooms);
    if ('errors' in parsed) return { ok: false, errors: parsed.errors };
    for (const room of parsed.rooms) await client.leave(room);
    return { ok: true, rooms: [...client.rooms].filter((r) => r !== client.id) };
  }

  async onApplicationShutdown(): Promise<void> {
    this.server?.disconnectSockets(true);
  }
}
