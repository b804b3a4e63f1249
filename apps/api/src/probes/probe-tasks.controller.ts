import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '#core';
import { ProbesService } from '#registry';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { IdParam } from '../common/id-param.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { PollQueryDto, ProbeResultDto, ProbeTaskListDto, RecordedDto } from './probe-tasks.dto.js';
import { Access } from '../common/access.decorator.js';

@ApiTags('probers')
@ApiAuthErrors()
@Controller('api/v1/probe-tasks')
export class ProbeTasksController {
  constructor(private readonly probes: ProbesService) {}

  @Get()
  @Access('agent')
  @ApiOperation({
    summary: 'Take probe tasks (long poll)',
    description:
      'Prober agents call this in a loop. It answers as soon as there are tasks, or with none after `wait` seconds. A prober that polls counts as connected for 30 s; silent instances are then confirmed DOWN by a majority of up to three probers, different zones first.',
  })
  @ApiOkResponse({ type: ProbeTaskListDto })
  async poll(@Query() q: PollQueryDto, @CurrentPrincipal() principal: Principal): Promise<ProbeTaskListDto> {
    return { items: await this.probes.poll(principal, { name: q.name, zone: q.zone, region: q.region }, q.wait) };
  }

  @Post(':id/result')
  @HttpCode(200)
  @Access('agent')
  @ApiOperation({ summary: "Report a probe task's result" })
  @ApiOkResponse({ type: RecordedDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'Unknown or expired task, or one given to another prober.' })
  async result(
    @IdParam() id: string,
    @Body() body: ProbeResultDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<RecordedDto> {
    await this.probes.submit(principal, id, body);
    return { recorded: true };
  }
}
