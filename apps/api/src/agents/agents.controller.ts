import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AgentsService } from '#registry';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { checkName } from '../common/name-param.js';
import { AgentDto, AgentListDto, AgentReportDto } from './agents.dto.js';
import { Access } from '../common/access.decorator.js';


@ApiTags('agents')
@ApiAuthErrors()
@Controller('api/v1/agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Put(':instance')
  @Access('agent')
  @ApiOperation({
    summary: 'An agent reports itself',
    description: 'Sent by ninefold-agent at start and every minute: version, services, prober mode, buffer counts (including heartbeats dropped while the control plane was away) and its gossip group.',
  })
  @ApiOkResponse({ type: AgentDto })
  report(@Param('instance') instance: string, @Body() body: AgentReportDto): Promise<AgentDto> {
    return this.agents.report(checkName(instance, 'instance'), body);
  }

  @Get()
  @Access('read')
  @ApiOperation({ summary: 'Agents that reported in the last week, with whether they are connected' })
  @ApiOkResponse({ type: AgentListDto })
  async list(): Promise<AgentListDto> {
    return { items: await this.agents.list() };
  }

  @Delete(':instance')
  @HttpCode(204)
  @Access('admin')
  @ApiOperation({ summary: 'Forget an agent (it reappears when it reports again)' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async remove(@Param('instance') instance: string): Promise<void> {
    await this.agents.remove(checkName(instance, 'instance'));
  }
}
