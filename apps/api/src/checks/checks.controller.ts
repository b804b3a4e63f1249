import { Body, Controller, Delete, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ChecksService } from '#registry';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { IdParam } from '../common/id-param.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { CheckDto, CheckListQueryDto, CheckPageDto, CreateCheckDto } from './checks.dto.js';
import { Access } from '../common/access.decorator.js';

@ApiTags('checks')
@ApiAuthErrors()
@Controller('api/v1/checks')
export class ChecksController {
  constructor(private readonly checks: ChecksService) {}

  @Post()
  @Access('admin')
  @ApiOperation({
    summary: 'Create (or update) a pull check',
    description:
      'HTTP (status, optional body substring, TLS certificate expiry reported) or TCP, run every intervalSeconds by one of the workers, or by a connected prober agent with runOn=probers. Each result counts as a heartbeat of its instance: up, degraded after a failure, down after more than `retries` failures in a row. The same service, instance, type and target updates the existing check.',
  })
  @ApiCreatedResponse({ type: CheckDto })
  create(@Body() body: CreateCheckDto): Promise<CheckDto> {
    return this.checks.create(body);
  }

  @Get()
  @Access('read')
  @ApiOperation({ summary: 'Checks, newest first, with their last result' })
  @ApiOkResponse({ type: CheckPageDto })
  list(@Query() q: CheckListQueryDto): Promise<CheckPageDto> {
    return this.checks.list(q.limit, q.cursor, q.service);
  }

  @Get(':id')
  @Access('read')
  @ApiOperation({ summary: 'One check with its last result' })
  @ApiOkResponse({ type: CheckDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  get(@IdParam() id: string): Promise<CheckDto> {
    return this.checks.get(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('admin')
  @ApiOperation({ summary: 'Delete a check (its instance stays registered)' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async remove(@IdParam() id: string): Promise<void> {
    await this.checks.remove(id);
  }
}
