import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiExtraModels, ApiOperation, ApiPayloadTooLargeResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { RequireRole } from '#core';
import { HeartbeatStream } from '#registry';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { AcceptedDto, DependencyCountsDto, HeartbeatBatchDto, HeartbeatDto } from './heartbeats.dto.js';

@ApiTags('heartbeats')
@ApiAuthErrors()
@ApiExtraModels(HeartbeatDto, HeartbeatBatchDto, DependencyCountsDto)
@Controller('api/v1')
export class HeartbeatsController {
  constructor(private readonly stream: HeartbeatStream) {}

  @Post('heartbeats')
  @HttpCode(202)
  @RequireRole('agent')
  @ApiOperation({
    summary: 'Report one heartbeat or a batch of up to 1,000',
    description:
      'Answers 202 once the heartbeats are durable (they survive a crash of the api). An invalid item rejects the whole batch with 400 naming each bad item and field; nothing of a rejected batch is stored. Unknown services and instances register themselves.',
  })
  @ApiBody({ schema: { oneOf: [{ $ref: getSchemaPath(HeartbeatDto) }, { $ref: getSchemaPath(HeartbeatBatchDto) }] } })
  @ApiAcceptedResponse({ type: AcceptedDto })
  @ApiPayloadTooLargeResponse({ type: ApiErrorDto })
  async report(@Body() body: unknown): Promise<AcceptedDto> {
    return { accepted: await this.stream.accept(body) };
  }
}
