import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiExtraModels, ApiHeader, ApiOperation, ApiPayloadTooLargeResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, type Principal } from '#core';
import { HeartbeatStream } from '#registry';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { AcceptedDto, DependencyCountsDto, HeartbeatBatchDto, HeartbeatDto } from './heartbeats.dto.js';
import { Access } from '../common/access.decorator.js';

@ApiTags('heartbeats')
@ApiAuthErrors()
@ApiExtraModels(HeartbeatDto, HeartbeatBatchDto, DependencyCountsDto)
@Controller('api/v1')
export class HeartbeatsController {
  constructor(private readonly stream: HeartbeatStream) {}

  @Post('heartbeats')
  @HttpCode(202)
  @Access('agent')
  @ApiOperation({
    summary: 'Report one heartbeat or a batch of up to 1,000',
    description:
      'Answers 202 once the heartbeats are durable (they survive a crash of the api). An invalid item rejects the whole batch with 400 naming each bad item and field; nothing of a rejected batch is stored. Unknown services and instances register themselves.',
  })
  @ApiBody({ schema: { oneOf: [{ $ref: getSchemaPath(HeartbeatDto) }, { $ref: getSchemaPath(HeartbeatBatchDto) }] } })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Makes a resend safe: a second request with the same key (per API key, within 24 h) stores nothing and is answered with the first one\'s count and `Idempotent-Replayed: true`. The ninefold-agent sends one with every batch.',
  })
  @ApiAcceptedResponse({ type: AcceptedDto, headers: { 'Idempotent-Replayed': { description: '`true` when the request repeated an Idempotency-Key already accepted', schema: { type: 'string' } } } })
  @ApiPayloadTooLargeResponse({ type: ApiErrorDto })
  async report(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AcceptedDto> {
    const r = await this.stream.receive(body, idempotencyKey === undefined ? undefined : { scope: principal.keyId, key: idempotencyKey });
    if (r.replayed) void reply.header('idempotent-replayed', 'true');
    return { accepted: r.accepted };
  }
}
