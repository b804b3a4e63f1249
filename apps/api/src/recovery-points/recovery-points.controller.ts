import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '#core';
import { RecoveryPointsService } from '#runbooks';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { CreateRecoveryPointDto, RecoveryPointDto, RecoveryPointListQueryDto, RecoveryPointPageDto } from './recovery-points.dto.js';
import { Access } from '../common/access.decorator.js';

@ApiTags('disaster recovery')
@ApiAuthErrors()
@Controller('api/v1/recovery-points')
export class RecoveryPointsController {
  constructor(private readonly points: RecoveryPointsService) {}

  @Post()
  @Access('agent')
  @ApiOperation({
    summary: 'Record a backup (recovery point) of a service',
    description: 'Called at the end of a backup job, typically by `ninefold-agent recovery-point --service NAME --location WHERE`. The newest recovery point is what the RPO of the service is judged by.',
  })
  @ApiCreatedResponse({ type: RecoveryPointDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'unknown service' })
  record(@Body() body: CreateRecoveryPointDto, @CurrentPrincipal() principal: Principal): Promise<RecoveryPointDto> {
    return this.points.record({ service: body.service, at: new Date(body.at), ...(body.location ? { location: body.location } : {}) }, principal.keyId);
  }

  @Get()
  @Access('read')
  @ApiOperation({ summary: 'Recovery points, newest first' })
  @ApiOkResponse({ type: RecoveryPointPageDto })
  list(@Query() q: RecoveryPointListQueryDto): Promise<RecoveryPointPageDto> {
    return this.points.list(q.service, q.limit, q.cursor);
  }
}
