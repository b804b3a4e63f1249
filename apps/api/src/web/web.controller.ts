import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '#core';
import { loadPage, type WebPage } from './web-pages.js';

/**
 * The web UI's pages: the dashboard at `/` (and at each of its own paths, so
 * a reload or a shared link opens the same view) and the public status page
 * at `/status`. Their scripts and styles are static files under `/assets/`
 * (see main.ts).
 */
@ApiExcludeController()
@Public()
@Controller()
export class WebController {
  private readonly dashboard = loadPage('index.html', { framable: false });
  private readonly statusPage = loadPage('status.html', { framable: true });

  @Get()
  home(@Res() reply: FastifyReply): void {
    send(reply, this.dashboard);
  }

  @Get('services/:name')
  service(@Res() reply: FastifyReply): void {
    send(reply, this.dashboard);
  }

  @Get('agents')
  agents(@Res() reply: FastifyReply): void {
    send(reply, this.dashboard);
  }

  @Get('status')
  status(@Res() reply: FastifyReply): void {
    send(reply, this.statusPage);
  }
}

function send(reply: FastifyReply, page: WebPage): void {
  void reply.headers(page.headers).send(page.html);
}
