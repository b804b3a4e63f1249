import { Body, Controller, Delete, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiKeysService, type ApiKeyView, CurrentPrincipal, type Principal } from '#core';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { IdParam } from '../common/id-param.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { PageQueryDto } from '../common/pagination.dto.js';
import { ApiKeyDto, ApiKeyPageDto, CreatedApiKeyDto, CreateKeyDto, WhoAmIDto } from './keys.dto.js';
import { Access } from '../common/access.decorator.js';

function toDto(k: ApiKeyView): ApiKeyDto {
  return {
    id: k.id,
    name: k.name,
    role: k.role,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

@ApiTags('keys')
@ApiAuthErrors()
@Controller('api/v1')
export class KeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post('keys')
  @Access('admin')
  @ApiOperation({ summary: 'Create an API key; the plain key is in this response only' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  async create(@Body() body: CreateKeyDto, @CurrentPrincipal() actor: Principal, @Req() req: FastifyRequest): Promise<CreatedApiKeyDto> {
    const created = await this.keys.create(body.name, body.role, actor, String(req.id));
    return { ...toDto(created), key: created.key };
  }

  @Get('keys')
  @Access('admin')
  @ApiOperation({ summary: 'List API keys, newest first (never the keys themselves)' })
  @ApiOkResponse({ type: ApiKeyPageDto })
  async list(@Query() page: PageQueryDto): Promise<ApiKeyPageDto> {
    const { items, nextCursor } = await this.keys.list(page.limit, page.cursor);
    return { items: items.map(toDto), nextCursor };
  }

  @Delete('keys/:id')
  @HttpCode(200)
  @Access('admin')
  @ApiOperation({ summary: 'Revoke an API key, at once on every replica (idempotent)' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'It is the last active admin key.' })
  async revoke(
    @IdParam() id: string,
    @CurrentPrincipal() actor: Principal,
    @Req() req: FastifyRequest,
  ): Promise<ApiKeyDto> {
    return toDto(await this.keys.revoke(id, actor, String(req.id)));
  }

  @Get('auth/whoami')
  @Access('any')
  @ApiOperation({ summary: 'The calling key\'s name and role (any role)' })
  @ApiOkResponse({ type: WhoAmIDto })
  whoami(@CurrentPrincipal() principal: Principal): WhoAmIDto {
    return principal;
  }
}
