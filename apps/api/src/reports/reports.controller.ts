import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AvailabilityReportService, reportCsv } from '#slo';
import { ApiErrorDto } from '../common/api-error.dto.js';
import { ApiAuthErrors } from '../common/api-errors.decorator.js';
import { ReportDto, ReportQueryDto } from './reports.dto.js';
import { Access } from '../common/access.decorator.js';

@ApiTags('reports')
@ApiAuthErrors()
@Controller('api/v1/reports')
export class ReportsController {
  constructor(private readonly reports: AvailabilityReportService) {}

  @Get('availability')
  @Access('read')
  @ApiOperation({ summary: 'SLA report: per service over [from, to), availability, downtime, outages, incidents and whether each SLO was met (?format=csv for a spreadsheet)' })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: ReportDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  async availability(@Query() q: ReportQueryDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<ReportDto | string> {
    const now = new Date();
    const fromMs = q.from ? Date.parse(q.from) : Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const toMs = q.to ? Date.parse(q.to) : now.getTime();
    const report = await this.reports.report(fromMs, toMs, q.service);
    if (q.format !== 'csv') return report;
    const name = `ninefold-availability-${report.from.slice(0, 10)}-${report.to.slice(0, 10)}.csv`;
    void reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`);
    return reportCsv(report);
  }
}
