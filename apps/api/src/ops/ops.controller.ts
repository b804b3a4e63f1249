import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MetricsService, Public } from '#core';
import { ReadinessService } from './readiness.service.js';

/** Operations endpoints: no API key, for load balancers, orchestrators and Prometheus. */
@ApiTags('operations')
@Public()
@Controller()
export class OpsController {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly metrics: MetricsService,
  ) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: 200 when Postgres and Redis answer, else 503 naming the one that failed' })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { postgres: { status: 'up', latencyMs: 0.8 }, redis: { status: 'up', latencyMs: 0.3 } } } } })
  @ApiServiceUnavailableResponse({
    schema: { example: { statusCode: 503, error: 'Service Unavailable', message: 'redis is down', checks: { postgres: { status: 'up', latencyMs: 0.8 }, redis: { status: 'down', error: 'Connection is closed.' } } } },
  })
  async readyz(@Res({ passthrough: true }) reply: FastifyReply): Promise<object> {
    const { ready, checks } = await this.readiness.check();
    if (ready) return { status: 'ok', checks };
    const down = Object.entries(checks).filter(([, c]) => c.status === 'down').map(([name]) => name);
    void reply.status(503).header('Retry-After', '5');
    return { statusCode: 503, error: 'Service Unavailable', message: `${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} down`, checks };
  }

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus text exposition of Ninefold metrics' })
  @Header('Cache-Control', 'no-store')
  @ApiExcludeEndpoint(false)
  async prometheus(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
