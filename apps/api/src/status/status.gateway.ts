import { Logger, type OnModuleInit } from '@nestjs/common';
import { WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { Namespace } from 'socket.io';
import { RealtimeEvent } from '#realtime';
import { StatusPageService } from '#registry';
import { RealtimeFeed } from '../realtime/realtime-feed.service.js';

/**
 * Live updates of the public status page: socket.io namespace `/status` on
 * path `/ws`, no key needed. It carries `service.state` of public services
 * only, reduced to `{ name, state, since, at }` (no reasons, no instance
 * names: what the public page shows, nothing more). Which services are
 * public comes from the status page's own 10-second cache.
 */
@WebSocketGateway({ path: '/ws', namespace: 'status', serveClient: false, cors: { origin: true } })
export class StatusGateway implements OnModuleInit {
  @WebSocketServer() server!: Namespace;
  private readonly logger = new Logger(StatusGateway.name);

  constructor(
    private readonly feed: RealtimeFeed,
    private readonly statusPage: StatusPageService,
  ) {}

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
