import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MaintenanceService } from '#registry';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { checkName } from '../common/name-param.js';
import { CreateMaintenanceDto, MaintenanceDto, MaintenanceListDto } from './maintenance.dto.js';
import { Access } from '../common/access.decorator.js';

@ApiTags('services')
@ApiAuthErrors()
@Controller('api/v1/services/:name/maintenance')
export class MaintenanceController {
  constructor(private readonly maintenance: MaintenanceService) {}

  @Post()
  @Access('operate')
  @ApiOperation({ summary: 'Put a service in maintenance (now, planned, or recorded afterwards): that time is left out of its availability' })
  @ApiCreatedResponse({ type: MaintenanceDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  create(@Param('name') name: string, @Body() body: CreateMaintenanceDto): Promise<MaintenanceDto> {
    return this.maintenance.create(checkName(name, 'name'), {
      fromMs: body.from !== undefined ? Date.parse(body.from) : undefined,
      toMs: body.to !== undefined ? Date.parse(body.to) : undefined,
      durationMinutes: body.durationMinutes,
      reason: body.reason,
    });
  }

  @Get()
  @Access('read')
  @ApiOperation({ summary: "A service's maintenance windows: under way, planned, and those of the last 30 days" })
  @ApiOkResponse({ type: MaintenanceListDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async list(@Param('name') name: string): Promise<MaintenanceListDto> {
    return { items: await this.maintenance.list(checkName(name, 'name')) };
  }

  @Delete(':id')
  @HttpCode(204)
  @Access('operate')
  @ApiOperation({ summary: 'End a maintenance window under way now (its time so far stays maintenance), or remove a planned or past one' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async end(@Param('name') name: string, @Param('id') id: string): Promise<void> {
    await this.maintenance.end(checkName(name, 'name'), id);
  }
}
