import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule, config, CoreModule, loggerParams, QueuesModule } from '#core';
import { RealtimeModule } from '#realtime';
import { RegistryModule } from '#registry';
import { RunbooksModule } from '#runbooks';
import { SloModule } from '#slo';
import { AgentsController } from './agents/agents.controller.js';
import { AvailabilityController } from './availability/availability.controller.js';
import { ChecksController } from './checks/checks.controller.js';
import { AllExceptionsFilter } from './common/all-exceptions.filter.js';
import { DnsServer } from './dns/dns.server.js';
import { HeartbeatsController } from './heartbeats/heartbeats.controller.js';
import { ProbeTasksController } from './probes/probe-tasks.controller.js';
import { RecoveryPointsController } from './recovery-points/recovery-points.controller.js';
import { EventsGateway } from './realtime/events.gateway.js';
import { RealtimeFeed } from './realtime/realtime-feed.service.js';
import { ReportsController } from './reports/reports.controller.js';
import { MaintenanceController } from './maintenance/maintenance.controller.js';
import { SlosController } from './slos/slos.controller.js';
import { StatusController } from './status/status.controller.js';
import { StatusGateway } from './status/status.gateway.js';
import { WebController } from './web/web.controller.js';
import { ServicesController } from './services/services.controller.js';
import { KeysController } from './keys/keys.controller.js';
import { OpsController } from './ops/ops.controller.js';
import { ReadinessService } from './ops/readiness.service.js';

@Module({
  imports: [LoggerModule.forRoot(loggerParams(config(), 'api')), CoreModule, QueuesModule, AuthModule, RegistryModule, RunbooksModule, RealtimeModule, SloModule],
  controllers: [WebController, OpsController, KeysController, HeartbeatsController, ServicesController, ProbeTasksController, ChecksController, RecoveryPointsController, AgentsController, StatusController, AvailabilityController, SlosController, ReportsController, MaintenanceController],
  providers: [ReadinessService, RealtimeFeed, EventsGateway, StatusGateway, DnsServer, { provide: APP_FILTER, useClass: AllExceptionsFilter }],
})
export class ApiModule {}
