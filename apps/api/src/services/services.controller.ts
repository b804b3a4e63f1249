import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { DomainError, ErrorCode } from '#core';
import { NAME_PATTERN, RegistryService, ServiceHistoryService } from '#registry';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { checkName } from '../common/name-param.js';
import { PageQueryDto } from '../common/pagination.dto.js';
import { CreateServiceDto, DiscoveryQueryDto, HistoryPageDto, HistoryQueryDto, InstanceDto, InstanceListDto, OverviewDto, RegisterInstanceDto, ResolveQueryDto, ServiceDto, ServiceInstanceDto, ServicePageDto, UptimeDto, UptimeQueryDto } from './services.dto.js';
import { Access } from '../common/access.decorator.js';
@ApiTags('services')
@ApiAuthErrors()
@Controller('api/v1')
export class ServicesController {
  constructor(
    private readonly registry: RegistryService,
    private readonly history: ServiceHistoryService,
  ) {}

  @Post('services')
  @Access('admin')
  @ApiOperation({ summary: 'Declare a service, or update its declaration (201 when created, 200 when updated)' })
  @ApiCreatedResponse({ type: ServiceDto })
  @ApiOkResponse({ type: ServiceDto })
  async upsert(@Body() body: CreateServiceDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<ServiceDto> {
    const { name, ...spec } = body;
    spec.dependsOn?.forEach((group, i) =>
      group.forEach((member, j) => {
        if (typeof member !== 'string' || !NAME_PATTERN.test(member)) throw new DomainError(ErrorCode.Invalid, [`dependsOn[${i}][${j}] must be a service name matching ${NAME_PATTERN.source}`]);
      }),
    );
    const { view, created } = await this.registry.upsertService(name, spec);
    void reply.status(created ? 201 : 200);
    return view;
  }

  @Get('services')
  @Access('read')
  @ApiOperation({ summary: 'Services by name, with state, instances, canLose and survivability' })
  @ApiOkResponse({ type: ServicePageDto })
  list(@Query() page: PageQueryDto): Promise<ServicePageDto> {
    return this.registry.listServices(page.limit, page.cursor);
  }

  @Get('overview')
  @Access('read')
  @ApiOperation({ summary: "What a dashboard's first paint needs: totals, and per service (paged by name) state, instance counts, availability, survivability, leader, budget" })
  @ApiOkResponse({ type: OverviewDto })
  overview(@Query() page: PageQueryDto): Promise<OverviewDto> {
    return this.registry.overview(page.limit, page.cursor);
  }

  @Get('services/:name')
  @Access('read')
  @ApiOperation({ summary: 'One service' })
  @ApiOkResponse({ type: ServiceDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  get(@Param('name') name: string): Promise<ServiceDto> {
    return this.registry.getService(checkName(name, 'name'));
  }

  @Get('services/:name/history')
  @Access('read')
  @ApiOperation({ summary: 'State changes of the service and its instances, newest first' })
  @ApiOkResponse({ type: HistoryPageDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  changes(@Param('name') name: string, @Query() q: HistoryQueryDto): Promise<HistoryPageDto> {
    return this.history.changes(checkName(name, 'name'), q.limit, q.cursor);
  }

  @Get('services/:name/uptime')
  @Access('read')
  @ApiOperation({ summary: 'Availability per UTC day over the last `days` days (default 90), oldest first, today so far last' })
  @ApiOkResponse({ type: UptimeDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  uptime(@Param('name') name: string, @Query() q: UptimeQueryDto): Promise<UptimeDto> {
    return this.history.uptime(checkName(name, 'name'), q.days);
  }

  @Delete('services/:name')
  @HttpCode(204)
  @Access('admin')
  @ApiOperation({ summary: 'Delete a service and its instances (their history is kept)' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async remove(@Param('name') name: string): Promise<void> {
    await this.registry.deleteService(checkName(name, 'name'));
  }

  @Post('services/:name/instances')
  @Access('agent')
  @ApiOperation({ summary: 'Register an instance (idempotent upsert; the service is created when missing)' })
  @ApiCreatedResponse({ type: InstanceDto })
  @ApiOkResponse({ type: InstanceDto })
  async register(@Param('name') name: string, @Body() body: RegisterInstanceDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<InstanceDto> {
    if (body.meta !== undefined) {
      const entries = Object.entries(body.meta);
      if (entries.length > 64 || entries.some(([k, v]) => typeof v !== 'string' || v.length > 512 || k.length > 64)) {
        throw new DomainError(ErrorCode.Invalid, ['meta must map names to strings (at most 64 entries, values up to 512 characters)']);
      }
    }
    const { view, created } = await this.registry.registerInstance(checkName(name, 'name'), body);
    void reply.status(created ? 201 : 200);
    return view;
  }

  @Get('services/:name/instances/:id')
  @Access('read')
  @ApiOperation({ summary: 'One instance: its live state and its own availability over 1 h to 90 days' })
  @ApiOkResponse({ type: ServiceInstanceDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  getInstance(@Param('name') name: string, @Param('id') id: string): Promise<ServiceInstanceDto> {
    return this.registry.getInstance(checkName(name, 'name'), checkName(id, 'id'));
  }

  @Delete('services/:name/instances/:id')
  @HttpCode(204)
  @Access('deregister')
  @ApiOperation({ summary: 'Deregister an instance' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async deregister(@Param('name') name: string, @Param('id') id: string): Promise<void> {
    await this.registry.deregisterInstance(checkName(name, 'name'), checkName(id, 'id'));
  }

  @Get('discovery/:service')
  @Access('any')
  @ApiOperation({ summary: 'Healthy instances of a service (?all=true: every instance, with its state)' })
  @ApiOkResponse({ type: InstanceListDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async discover(@Param('service') service: string, @Query() q: DiscoveryQueryDto): Promise<InstanceListDto> {
    return { items: await this.registry.discover(checkName(service, 'service'), q.all === 'true') };
  }

  @Get('discovery/:service/resolve')
  @Access('any')
  @ApiOperation({ summary: 'One healthy instance, round-robin, same zone first; 503 when none is healthy' })
  @ApiOkResponse({ type: InstanceDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  resolve(@Param('service') service: string, @Query() q: ResolveQueryDto): Promise<InstanceDto> {
    return this.registry.resolve(checkName(service, 'service'), q.zone);
  }
}
