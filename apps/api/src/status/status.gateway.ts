import { Logger, type OnModuleInit } from '@nestjs/common';
import { type OnGatewayConnection, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { InjectConfig, type NinefoldConfig } from '#core';
import { RealtimeEvent } from '#realtime';
import { StatusPageService } from '#registry';
import { RealtimeFeed } from '../realtime/realtime-feed.service.js';

/**
 * Live updates of the public status page: socket.io namespace `/status` on
 * path `/ws`, no key needed. It carries `service.state` of public services
 * only, reduced to `{ name, state, since, at }` (no reasons, no instance
 * names: what the public page shows, nothing more). Which services are
 * public comes from the status page's own 10-second cache.
 *
 * Anyone may connect, so connections are capped per replica
 * (STATUS_WS_MAX_CONNECTIONS) and per client address
 * (STATUS_WS_MAX_PER_ADDRESS): over a cap the socket gets `refused` and is
 * closed, and the page keeps polling GET /api/v1/status instead.
 */
@WebSocketGateway({ path: '/ws', namespace: 'status', serveClient: false, cors: { origin: true } })
export class StatusGateway implements OnModuleInit, OnGatewayConnection {
  @WebSocketServer() server!: Namespace;
  private readonly logger = new Logger(StatusGateway.name);
  /** Open connections per client address. */
  private readonly perAddress = new Map<string, number>();
  private refusedSinceLog = 0;

  constructor(
    private readonly feed: RealtimeFeed,
    private readonly statusPage: StatusPageService,
    @InjectConfig() private readonly config: NinefoldConfig,
  ) {}

  handleConnection(socket: Socket): void {
    const address = clientAddress(socket);
    const fromAddress = (this.perAddress.get(address) ?? 0) + 1;
    // `sockets` already holds this one.
    const reason =
      this.server.sockets.size > this.config.STATUS_WS_MAX_CONNECTIONS
        ? 'too many visitors for live updates right now'
        : fromAddress > this.config.STATUS_WS_MAX_PER_ADDRESS
          ? 'too many live connections from your address'
          : null;
    if (reason) {
      socket.emit('refused', { reason, poll: '/api/v1/status' });
      socket.disconnect(true);
      // Once a minute at most, however many are refused.
      if (this.refusedSinceLog++ === 0) setTimeout(() => this.logRefused(), 60_000).unref();
      return;
    }
    this.perAddress.set(address, fromAddress);
    socket.once('disconnect', () => {
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n > 0) this.perAddress.set(address, n);
      else this.perAddress.delete(address);
    });
  }

  private logRefused(): void {
    this.logger.warn({ refused: this.refusedSinceLog, open: this.server.sockets.size }, 'status page live connections refused (STATUS_WS_MAX_CONNECTIONS / STATUS_WS_MAX_PER_ADDRESS)');
    this.refusedSinceLog = 0;
  }

  onModuleInit(): void {
    this.feed.listen((message) => {
      if (message.event !== RealtimeEvent.ServiceState) return;
      // Nobody watching: not even the public list is worth reading.
      if (!this.server || this.server.sockets.size === 0) return;
      const p = message.payload;
      void this.statusPage
        .isPublic(String(p.name))
        .then((isPublic) => {
          if (isPublic) this.server.emit('service.state', { name: p.name, state: p.state, since: p.since, at: p.at });
        })
        .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'status page update not sent'));
    });
  }
}

/** The visitor's address: X-Forwarded-For's first entry when a proxy sent one (the api trusts proxies, as for REST), else the peer's. */
function clientAddress(socket: Socket): string {
  const forwarded = socket.handshake.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return first || socket.handshake.address;
}
