import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { SloService } from '#slo';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { BudgetHistoryDto, CreateSloDto, SloDto, SloPageDto, SloQueryDto } from './slos.dto.js';
import { Access } from '../common/access.decorator.js';

@ApiTags('slos')
@ApiAuthErrors()
@Controller('api/v1/slos')
export class SlosController {
  constructor(private readonly slos: SloService) {}

  @Post()
  @Access('admin')
  @ApiOperation({ summary: 'Define an SLO of a service, or update the one with that name (201 created, 200 updated)' })
  @ApiCreatedResponse({ type: SloDto })
  @ApiOkResponse({ type: SloDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async upsert(@Body() body: CreateSloDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<SloDto> {
    const { view, created } = await this.slos.upsert(body);
    void reply.status(created ? 201 : 200);
    return view;
  }

  @Get()
  @Access('read')
  @ApiOperation({ summary: 'SLOs with their figures (?service= for one service)' })
  @ApiOkResponse({ type: SloPageDto })
  list(@Query() q: SloQueryDto): Promise<SloPageDto> {
    return this.slos.list(q.limit, q.cursor, q.service);
  }

  @Get(':id')
  @Access('read')
  @ApiOperation({ summary: 'One SLO: SLI, error budget, burn rates over 5m-3d and its multi-window, multi-burn-rate alerts' })
  @ApiOkResponse({ type: SloDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  get(@Param('id') id: string): Promise<SloDto> {
    return this.slos.get(id);
  }

  @Get(':id/budget')
  @Access('read')
  @ApiOperation({ summary: 'Burn-down of the error budget over the current window: the share left at the end of each day, then now' })
  @ApiOkResponse({ type: BudgetHistoryDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  budget(@Param('id') id: string): Promise<BudgetHistoryDto> {
    return this.slos.budgetHistory(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('admin')
  @ApiOperation({ summary: 'Delete an SLO' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async remove(@Param('id') id: string): Promise<void> {
    await this.slos.remove(id);
  }
}
