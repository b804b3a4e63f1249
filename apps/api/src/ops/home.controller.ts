import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { installRoot, Public } from '#core';

function loadHomePage(): string {
  return readFileSync(path.join(installRoot(), 'apps', 'dashboard', 'public', 'index.html'), 'utf8');
}

/** `/`: the web UI's entry page. */
@ApiExcludeController()
@Public()
@Controller()
export class HomeController {
  private readonly page = loadHomePage();

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-cache')
  home(): string {
    return this.page;
  }
}
